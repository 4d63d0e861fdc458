/**
 * What every notebook data loader shares: the daemon's config (from LOGBENCH_CONFIG, else the embedded
 * default `config/local.yaml`), a context for the connectors, and the rule that a loader which cannot reach
 * its source fails with ONE line naming the source and the config field (Framework shows the loader's stderr
 * as is, and a stack trace there helps nobody).
 *
 * Loaders are run by Framework as `tsx notebooks/data/NAME.EXT.ts` and write the file to stdout.
 */
import { relative, resolve } from "node:path";
import {
  type Config,
  type Context,
  createLogger,
  defaultConfigPath,
  firstLine,
  loadConfig,
  MetricsRegistry,
  packageRoot,
  SourceError,
} from "logbench";

export interface LoaderEnv {
  config: Config;
  /** The config file, relative to the repository root when inside it (for stamps; never holds secrets). */
  configLabel: string;
  ctx: Context;
  env: Record<string, string | undefined>;
  /** Build time, epoch ms. */
  now: number;
}

class ConfigError extends Error {}

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

/** JSON for the browser: bigints as numbers (all counts here are far below 2^53). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
}
