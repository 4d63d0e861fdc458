/** A tail source against a real temp folder and a local bus. */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { createLogger, MetricsRegistry, silentLogger } from "../../../../connectors/context.ts";
import { createLocalBus } from "../../../../connectors/local/file-log.ts";
import type { Bus } from "../../../../connectors/types.ts";
import { readPositions } from "../../../../pipeline/ingest/positions.ts";
import { Publisher } from "../../../../pipeline/ingest/publisher.ts";
import { createTailSource, tailSourceSchema } from "../../../../pipeline/ingest/sources/tail.ts";
import type { DeadLetter, LogEvent } from "../../../../pipeline/model/log-event.ts";

export const TOPICS = { events: "weblogs", deadLetters: "weblogs.dlq" };

/** A CLF line that is unique per `i` (so a line twice or missing shows), with one host unless told. */
export function clf(i: number, host = "h1"): string {
  const mm = String(Math.floor(i / 60) % 60).padStart(2, "0");
  const ss = String(i % 60).padStart(2, "0");
  return `${host} - - [01/Jul/1995:00:${mm}:${ss} -0400] "GET /p${i} HTTP/1.0" 200 ${i}`;
}

export function lines(from: number, to: number, host?: string): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(clf(i, host));
  return out;
}

export interface Harness {
  dir: string;
  logs: string;
  bus: Bus;
  metrics: MetricsRegistry;
  /** Starts the tail (a new source object, as a restarted daemon would make). */
  start(overrides?: Record<string, unknown>, tweak?: (p: Publisher) => void): Running;
  /** Events (raw lines, in bus order) and dead letters on the bus. */
  onBus(): Promise<{ events: string[]; dead: DeadLetter[] }>;
  positions(): { files: Record<string, { offset: number; path: string; dev: number; ino: number }>; last?: string };
}

export interface Running {
  run: Promise<void>;
  stop(): Promise<void>;
}

/** Every harness's bus, closed after each test: one left open leaves its file handles for the garbage collector. */
const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

export function harness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), "logbench-tail-"));
  const logs = join(dir, "logs");
  mkdirSync(logs);
  const metrics = new MetricsRegistry();
  const busCtx = { logger: silentLogger, metrics, signal: new AbortController().signal };
  const bus = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 3, fsync: false }, busCtx);
  buses.push(bus);
  return {
    dir,
    logs,
    bus,
    metrics,
    start(overrides = {}, tweak) {
      const stop = new AbortController();
      const ctx = {
        logger: process.env.TAIL_DEBUG ? createLogger({ level: "debug" }) : silentLogger,
        metrics,
        signal: stop.signal,
      };
      const publisher = new Publisher(bus, TOPICS, ctx);
      tweak?.(publisher);
      const config = tailSourceSchema.parse({
        type: "tail",
        name: "web",
        paths: [join(logs, "access.log")],
        format: "clf",
        pollInterval: 20,
        rotateWait: 150,
        batchLines: 10,
        ...overrides,
      });
      const source = createTailSource(config, {
        publisher,
        stateDir: join(dir, "state"),
        parse: { maxLineBytes: 65536, keepRaw: true },
        ctx,
      });
      const run = source.run();
      return {
        run,
        async stop() {
          stop.abort();
          await run;
        },
      };
    },
    async onBus() {
      const all = { from: 0, to: Number.MAX_SAFE_INTEGER };
      const decode = (v: Uint8Array) => JSON.parse(new TextDecoder().decode(v));
      const events = (await bus.readWindow(TOPICS.events, all)).map((m) => (decode(m.value) as LogEvent).raw!);
      const dead = (await bus.readWindow(TOPICS.deadLetters, all)).map((m) => decode(m.value) as DeadLetter);
      return { events, dead };
    },
    positions() {
      return (readPositions(join(dir, "state"), "web") as ReturnType<Harness["positions"]> | null) ?? { files: {} };
    },
  };
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { LogWriter } from "./log-writer.ts";
