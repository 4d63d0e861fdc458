/**
 * What a CLI command gets instead of reaching for process globals, so tests can run commands in-process.
 * A command returns its exit code: 0 ok, 1 runtime failure, 2 bad usage or bad config.
 */
import type { Readable, Writable } from "node:stream";
import { type Context, createLogger, MetricsRegistry } from "../../connectors/context.ts";

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM by the entry point. */
  signal: AbortSignal;
}

export type Command = (args: string[], io: CliIo) => Promise<number>;

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The context a one-shot command runs its connectors with: warnings and errors on stderr, its own metrics. */
export function commandContext(io: CliIo): Context {
  return {
    logger: createLogger({ level: "warn", write: (l) => io.stderr.write(l) }),
    metrics: new MetricsRegistry(),
    signal: io.signal,
  };
}
