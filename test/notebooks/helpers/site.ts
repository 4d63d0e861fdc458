/**
 * Building and serving the notebooks from a test, and asking `logbench query` the same questions the pages
 * answer. Every build runs with test/notebooks/offline-guard.mjs preloaded, which refuses any fetch to a
 * non-loopback host and records it: a build that would need the network fails, and says what it wanted.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { packageRoot } from "../../../pipeline/config/load.ts";
import { fillNotebooksCache } from "../../../pipeline/notebooks/cache.ts";

export const FRAMEWORK = join(packageRoot, "node_modules/@observablehq/framework/dist/bin/observable.js");
export const GUARD = join(packageRoot, "test/notebooks/offline-guard.mjs");
export const ARTIFACTS = join(packageRoot, "test/artifacts/notebooks");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 300_000) {
  return new Promise<Run>((done, fail) => {
    const child = spawn(command, args, { cwd: packageRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${command} ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** The environment of a notebooks command: the repo's node_modules/.bin on PATH (loaders run with `tsx`). */
export function notebookEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    ...process.env,
    PATH: [join(packageRoot, "node_modules/.bin"), process.env.PATH ?? ""].join(delimiter),
    OBSERVABLE_TELEMETRY_DISABLE: "1",
    NO_COLOR: "1",
    ...extra,
  };
}

export interface Built extends Run {
  /** Where the site was written (absolute). */
  output: string;
  /** URLs the build tried to fetch from outside this machine (refused). */
  fetches: string[];
}

/**
 * `npm run build` as the package script does it (cache fill with --clear-data, then `observable build`), with
 * the config in LOGBENCH_CONFIG and the output in a temporary folder (only screenshots go to test/artifacts/).
 */
export async function buildSite(configFile: string, outputName: string, env: Record<string, string> = {}) {
  await fillNotebooksCache({ repoRoot: packageRoot, clearData: true });
  const log = join(await mkdtemp(join(tmpdir(), "logbench-offline-")), "fetches.log");
  const output = join(await mkdtemp(join(tmpdir(), "logbench-site-")), outputName);
  const result = await run(
    process.execPath,
    [FRAMEWORK, "build"],
    notebookEnv({
      ...env,
      LOGBENCH_CONFIG: configFile,
      LOGBENCH_NOTEBOOKS_OUTPUT: output,
      LOGBENCH_OFFLINE_LOG: log,
      NODE_OPTIONS: `--import ${GUARD}`,
    }),
  );
  const fetches = (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean);
  await rm(resolve(log, ".."), { recursive: true, force: true });
  return { ...result, output: resolve(packageRoot, output), fetches } satisfies Built;
}

/** `logbench query --format json` on the config, parsed. */
export async function logbenchQuery(configFile: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await run(
    process.execPath,
    [join(packageRoot, "bin/logbench.js"), "query", "--config", configFile, "--format", "json", sql],
    process.env,
    120_000,
  );
  if (result.code !== 0) throw new Error(`logbench query "${sql}" exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

/** `logbench replay FILE --format clf` on the config. */
export async function logbenchReplay(configFile: string, file: string, name = "more"): Promise<Run> {
  return run(
    process.execPath,
    [join(packageRoot, "bin/logbench.js"), "replay", file, "--format", "clf", "--name", name, "--config", configFile],
    process.env,
    120_000,
  );
}
