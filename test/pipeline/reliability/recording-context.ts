/** A stage context whose log lines (at `level` and above) are kept as objects for the test to read. */
import { type Context, createLogger, MetricsRegistry } from "../../../connectors/context.ts";

export function recordingContext(level: "debug" | "info" | "warn" | "error" = "warn") {
  const logs: Array<Record<string, unknown>> = [];
  const metrics = new MetricsRegistry();
  const ctx: Context = {
    logger: createLogger({ level, write: (l) => logs.push(JSON.parse(l)) }),
    metrics,
    signal: new AbortController().signal,
  };
  return { logs, metrics, ctx };
}
