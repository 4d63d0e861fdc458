/** What the tcp and http source tests share: a publisher that records (and can hold) batches, lines to send. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger, MetricsRegistry } from "../../../../connectors/context.ts";
import { packageRoot } from "../../../../pipeline/config/load.ts";
import type { Publisher } from "../../../../pipeline/ingest/publisher.ts";
import type { SourceRuntime } from "../../../../pipeline/ingest/source.ts";
import type { DeadLetter, LogEvent } from "../../../../pipeline/model/log-event.ts";

export interface Recorder {
  publisher: Publisher;
  events: LogEvent[];
  dead: DeadLetter[];
  /** Wall time each record was acknowledged, in order (events and dead letters). */
  ackedAt: number[];
  batches: number;
  /** While set, publish waits for it (a slow or stuck bus). */
  hold: Promise<void> | null;
  /** When set, publish throws it. */
  failWith: Error | null;
}

export function recorder(): Recorder {
  const r: Recorder = {
    events: [],
    dead: [],
    ackedAt: [],
    batches: 0,
    hold: null,
    failWith: null,
    publisher: null as unknown as Publisher,
  };
  r.publisher = {
    async publish(_source: string, events: LogEvent[], dead: DeadLetter[]) {
      r.batches++;
      if (r.hold) await r.hold;
      if (r.failWith) throw r.failWith;
      r.events.push(...events);
      r.dead.push(...dead);
      const now = Date.now();
      for (let i = 0; i < events.length + dead.length; i++) r.ackedAt.push(now);
    },
  } as unknown as Publisher;
  return r;
}

export interface TestRuntime {
  rt: SourceRuntime;
  metrics: MetricsRegistry;
  abort: () => void;
  /** Fields of every log line the source wrote. */
  logs: Array<Record<string, unknown>>;
}

export function runtime(rec: Recorder, extra: Partial<SourceRuntime> = {}): TestRuntime {
  const controller = new AbortController();
  const metrics = new MetricsRegistry();
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: "debug", write: (line) => logs.push(JSON.parse(line)) });
  const rt: SourceRuntime = {
    publisher: rec.publisher,
    stateDir: "/nonexistent",
    parse: { maxLineBytes: 65536, keepRaw: true },
    ctx: { logger, metrics, signal: controller.signal },
    ...extra,
  };
  return { rt, metrics, abort: () => controller.abort(), logs };
}

/** Lines of a sample file (without the last empty one). */
export function sampleLines(name: string): string[] {
  const lines = readFileSync(join(packageRoot, "data/samples", name), "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Polls `probe` until it holds; fails with `what` after the deadline. */
export async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
