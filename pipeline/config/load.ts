/**
 * Loose YAML in, frozen defaulted Config out. `${NAME}` and `${NAME:-default}` are substituted in string
 * values (after YAML parsing, so a variable can never inject YAML). Relative paths are resolved against the
 * config file's folder. A bad file fails with the field's path and the reason (exit code 2 in the CLI).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { LogbenchError } from "../../connectors/errors.ts";
import { archives, buses, seriesStores } from "../../connectors/registry.ts";
import { readSecret } from "../../connectors/secrets.ts";
import { sources } from "../ingest/registry.ts";
import { type Config, configSchema } from "./schema.ts";

/**
 * The folder holding logbench's package.json, found upwards from this module, so it is the same whether this runs
 * from source (tsx, Deno, vitest) or compiled into lib/.
 */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
export const defaultConfigPath = resolve(packageRoot, "config/local.yaml");

export type Env = Record<string, string | undefined>;

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "pipeline"))) return dir;
    if (dirname(dir) === dir) throw new Error(`logbench's package.json not found above ${from}`);
  }
}

export async function loadConfig(path: string = defaultConfigPath, env: Env = process.env): Promise<Config> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new LogbenchError("CONFIG", `${path}: cannot read the config file (${(err as Error).message})`, {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new LogbenchError("CONFIG", `${path}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(raw, { env, baseDir: dirname(file), origin: path });
}

/** Validate an already-parsed object (tests and programmatic use). */
export function parseConfig(raw: unknown, options: { env?: Env; baseDir?: string; origin?: string } = {}): Config {
  const origin = options.origin ?? "config";
  const substituted = substitute(raw, options.env ?? process.env, [], origin);
  const result = configSchema.safeParse(substituted);
  if (!result.success) throw new LogbenchError("CONFIG", `${origin}: ${formatIssues(result.error.issues)}`);
  const config = resolvePaths(result.data, options.baseDir ?? process.cwd());
  return deepFreeze(config);
}

export function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.path.length ? issue.path.join(".") : "(top level)";
      return `${where}: ${issue.message}`;
    })
    .join("; ");
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function substitute(value: unknown, env: Env, path: Array<string | number>, origin: string): unknown {
  if (typeof value === "string") {
    return value.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      throw new LogbenchError(
        "CONFIG",
        `${origin}: ${path.join(".") || "(top level)"}: environment variable ${name} is not set`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, [...path, i], origin));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, [...path, k], origin)]));
  }
  return value;
}

function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const c = structuredClone(config);
  c.stateDir = abs(c.stateDir);
  const paths = { abs, secret: readSecret };
  buses.resolvePaths(c.bus, paths);
  archives.resolvePaths(c.archive, paths);
  seriesStores.resolvePaths(c.series, paths);
  for (const source of c.sources) sources.resolvePaths(source, paths);
  for (const [i, hook] of c.alerts.webhooks.entries()) {
    if (!hook.tokenFile) continue;
    hook.tokenFile = abs(hook.tokenFile);
    hook.token ??= readSecret(hook.tokenFile, `alerts.webhooks.${i}.tokenFile`);
  }
  if (c.api.tokenFile) {
    c.api.tokenFile = abs(c.api.tokenFile);
    c.api.token ??= readSecret(c.api.tokenFile, "api.tokenFile");
  }
  if (c.api.host !== "127.0.0.1" && c.api.host !== "localhost" && c.api.host !== "::1" && !c.api.token) {
    throw new LogbenchError(
      "CONFIG",
      `api.host: listening on ${c.api.host} (not loopback) requires api.token or api.tokenFile`,
    );
  }
  return c;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
