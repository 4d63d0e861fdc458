/**
 * What every notebook data loader shares: the daemon's config (from LOGBENCH_CONFIG, else the embedded
 * default `config/local.yaml`), a context for the connectors, and the rule that a loader which cannot reach
 * its source fails with ONE line naming the source and the config field (Framework shows the loader's stderr
 * as is, and a stack trace there helps nobody).
 *
 * Loaders are run by Framework as `tsx notebooks/data/NAME.EXT.ts` and write the file to stdout.
 */
import { relative, resolve } from "node:path";
import { type Context, createLogger, MetricsRegistry } from "../../../connectors/context.ts";
import { defaultConfigPath, loadConfig, packageRoot } from "../../../pipeline/config/load.ts";
import type { Config } from "../../../pipeline/config/schema.ts";

export interface LoaderEnv {
  config: Config;
  /** The config file, relative to the repository root when inside it (for stamps; never holds secrets). */
  configLabel: string;
  ctx: Context;
  env: Record<string, string | undefined>;
  /** Build time, epoch ms. */
  now: number;
}

/**
 * A source that could not be read. `source` says which one in words a reader knows ("the bus (kafka
 * 10.0.0.5:9092)"), `field` is the config field that points at it ("bus.brokers").
 */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    cause: unknown,
  ) {
    super(`cannot read ${source} (config field ${field}): ${firstLine(cause)}`, { cause });
    this.name = "SourceError";
  }
}

class ConfigError extends Error {}

/** Run `fn`; any failure becomes a SourceError naming `source` and `field`. */
export async function reading<T>(source: string, field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(source, field, err);
  }
}

export function configPathFrom(env: Record<string, string | undefined>): string {
  const given = env.LOGBENCH_CONFIG;
  return given ? resolve(given) : defaultConfigPath;
}

/**
 * Run one loader: load the config, produce the output, write it to stdout. On failure, print one line to
 * stderr and exit non-zero, so Framework's build stops with that line.
 */
export async function runLoader(name: string, produce: (env: LoaderEnv) => Promise<Uint8Array | string>) {
  const env = process.env;
  const path = configPathFrom(env);
  const configLabel = path.startsWith(packageRoot) ? relative(packageRoot, path) : path;
  const controller = new AbortController();
  const ctx: Context = {
    // Connectors log retries at warn; a loader that gives up says so in its one line, and a build log full
    // of retry records would bury it. Errors (data loss, an operator must act) still get through.
    logger: createLogger({ level: "error", fields: { loader: name } }),
    metrics: new MetricsRegistry(),
    signal: controller.signal,
  };
  try {
    let config: Config;
    try {
      config = await loadConfig(path, env);
    } catch (err) {
      const from = env.LOGBENCH_CONFIG ? "named by LOGBENCH_CONFIG" : "the embedded default";
      throw new ConfigError(`${firstLine(err)} — config file ${from}`);
    }
    const output = await produce({ config, configLabel, ctx, env, now: Date.now() });
    await write(output);
  } catch (err) {
    const message =
      err instanceof SourceError || err instanceof ConfigError ? err.message : `failed: ${firstLine(err)}`;
    process.stderr.write(`logbench loader ${name}: ${message}\n`);
    process.exitCode = 1;
  } finally {
    controller.abort();
  }
}

function write(output: Uint8Array | string): Promise<void> {
  return new Promise((done, fail) => {
    process.stdout.write(output, (err) => (err ? fail(err) : done()));
  });
}

/** The first line of an error message, with the causes' messages when the top one is vague. */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split("\n")[0]!.trim();
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error && !line.includes(cause.message.split("\n")[0]!)) {
    return `${line}: ${cause.message.split("\n")[0]}`;
  }
  return line;
}

/** JSON for the browser: bigints as numbers (all counts here are far below 2^53). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
}
