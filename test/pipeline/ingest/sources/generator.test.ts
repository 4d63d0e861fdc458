/** The generator source: its lines reach the publisher parsed, a restart continues the sequence, a finished count stays finished. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger, MetricsRegistry } from "../../../../connectors/context.ts";
import type { Publisher } from "../../../../pipeline/ingest/publisher.ts";
import { createGeneratorSource, generatorSourceSchema } from "../../../../pipeline/ingest/sources/generator.ts";
import type { DeadLetter, LogEvent } from "../../../../pipeline/model/log-event.ts";

function run(stateDir: string, config: Record<string, unknown>, stopAfterBatches = Number.POSITIVE_INFINITY) {
  const controller = new AbortController();
  const metrics = new MetricsRegistry();
  const events: LogEvent[] = [];
  const dead: DeadLetter[] = [];
  let batches = 0;
  const publisher = {
    async publish(_source: string, e: LogEvent[], d: DeadLetter[]) {
      events.push(...e);
      dead.push(...d);
      if (++batches >= stopAfterBatches) controller.abort();
    },
  } as unknown as Publisher;
  const ctx = { logger: createLogger({ level: "error" }), metrics, signal: controller.signal };
  const source = createGeneratorSource(generatorSourceSchema.parse({ type: "generator", ...config }), {
    publisher,
    stateDir,
    parse: { maxLineBytes: 65536, keepRaw: true },
    ctx,
  });
  return { source, done: source.run().then(() => ({ events, dead, batches, metrics })) };
}

const CONFIG = { name: "synth", seed: 42, rate: 0, count: 2_500, batchLines: 1_000, start: "2024-01-01T00:00:00Z" };

describe("generator source", () => {
  it("continues the sequence after a stop, and does not repeat a finished count", async () => {
    const whole = await run(mkdtempSync(join(tmpdir(), "logbench-gen-")), CONFIG).done;
    expect(whole.events).toHaveLength(2_500);
    expect(whole.dead).toHaveLength(0);
    expect(whole.batches).toBe(3);
    expect(new Set(whole.events.map((e) => e.source))).toEqual(new Set(["synth"]));
    // 100 lines per second of event time without a rate: the last line is 24.99 s after the start.
    expect(whole.events.at(-1)!.ts).toBe(Date.UTC(2024, 0, 1, 0, 0, 24));

    const dir = mkdtempSync(join(tmpdir(), "logbench-gen-"));
    const first = run(dir, CONFIG, 1);
    expect(first.source.finite).toBe(true);
    const a = await first.done;
    const b = await run(dir, CONFIG).done;
    const c = await run(dir, CONFIG).done;
    expect(a.events).toHaveLength(1_000);
    expect(c.events).toHaveLength(0);
    expect([...a.events, ...b.events].map((e) => e.raw)).toEqual(whole.events.map((e) => e.raw));
    // Another seed is another sequence, from its first line.
    expect((await run(dir, { ...CONFIG, seed: 7, count: 10 }).done).events).toHaveLength(10);
  });

  it("follows the wall clock without a start, runs until stopped without a count, and publishes its target rate", async () => {
    const before = Date.now();
    const r = run(mkdtempSync(join(tmpdir(), "logbench-gen-")), { name: "live", rate: 5_000, batchLines: 100 }, 3);
    expect(r.source.finite).toBe(false);
    const out = await r.done;
    expect(out.events).toHaveLength(300);
    for (const e of out.events) expect(e.ts).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(out.events.at(-1)!.ts).toBeLessThanOrEqual(Date.now());
    expect(out.metrics.get("logbench_source_rate_target", { source: "live" })).toBe(5_000);
  });

  it("rejects a bad config with the field and the reason", () => {
    const bad = generatorSourceSchema.safeParse({ type: "generator", start: "soon", format: "json" });
    expect(bad.success).toBe(false);
    const text = JSON.stringify(bad.error?.issues);
    expect(text).toContain("ISO 8601");
    expect(text).toContain("format");
  });
});
