/**
 * Firing and resolved state of each rule, kept in `<stateDir>/alerts.json` so a restarted daemon neither fires
 * again what is already firing nor forgets a notification a receiver has not taken yet (`pending` lists the
 * webhooks still owed the rule's current state). Written whole to a temp file and renamed over the old one.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { LogbenchError } from "../../connectors/errors.ts";

export interface RuleState {
  status: "firing" | "resolved";
  /** When the rule started firing (epoch ms). */
  startsAt: number;
  /** When it resolved; null while firing. */
  endsAt: number | null;
  /** The value and comparison that decided the last transition. */
  value: number;
  detail: string;
  /** Webhook URLs not yet sent this state. */
  pending: string[];
}

export interface AlertState {
  version: 1;
  rules: Record<string, RuleState>;
}

export async function loadAlertState(file: string): Promise<AlertState> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, rules: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as AlertState;
    if (parsed.version !== 1 || typeof parsed.rules !== "object") throw new Error("not an alert state (version 1)");
    return parsed;
  } catch (err) {
    throw new LogbenchError(
      "PARSE",
      `${file}: cannot read the alert state (${(err as Error).message}); move it away to start with no alert firing`,
      { cause: err },
    );
  }
}

export async function saveAlertState(file: string, state: AlertState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 1)}\n`);
  await rename(tmp, file);
}
