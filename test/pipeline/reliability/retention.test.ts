/**
 * Loss to retention through the whole daemon, on a private librdkafka mock (about 5 MB kept per partition): the
 * daemon archives a first round and stops; far more than 5 MB arrive while it is down; on the next start both
 * groups report exactly what the bus deleted (metric, /healthz 503, the archive's gap records, the gaps table),
 * and archive + lost, series total + lost each equal what the test sent.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentContext, silentLogger } from "../../../connectors/context.ts";
import { createKafkaBus } from "../../../connectors/kafka/bus.ts";
import { kafkaBusSchema } from "../../../connectors/kafka/config.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { startDaemon } from "../../../pipeline/daemon.ts";
import { runSql } from "../../../pipeline/query/catalog.ts";
import { type KafkaMock, startKafkaMock } from "../../servers/kafka/mock-cluster.ts";

const PAD = "/p".repeat(500);
const events = (n: number, base: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: "h",
    value: JSON.stringify({
      ts: Date.UTC(2026, 0, 1, 10) + base + i,
      host: "h",
      method: "GET",
      path: PAD,
      status: 200,
      bytes: 1,
      source: "t",
    }),
  }));

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("daemon: loss to retention is never silent", () => {
  let mock: KafkaMock;
  beforeAll(async () => {
    mock = await startKafkaMock({
      brokers: 1,
      topics: [
        { name: "weblogs", partitions: 1 },
        { name: "weblogs.dlq", partitions: 1 },
      ],
    });
  });
  afterAll(async () => {
    await mock?.close();
  });

  it("counts, reports and records exactly the offsets deleted while it was stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-retention-"));
    const config = parseConfig(
      {
        bus: { type: "kafka", brokers: mock.bootstrap, sessionTimeout: "6s", connectionTimeout: "1s" },
        archive: { type: "local", dir: "archive" },
        series: { type: "duckdb", file: "series.duckdb" },
        sources: [],
        api: { port: 0 },
        archiver: { roll: { idle: "300ms" } },
        aggregator: { flushInterval: "300ms" },
      },
      { baseDir: dir },
    );
    const ctx = silentContext();
    const producer = createKafkaBus(kafkaBusSchema.parse({ type: "kafka", brokers: mock.bootstrap }), ctx);
    const count = async (sql: string) => Number((await runSql(config, ctx, sql))[0]!.n ?? 0);

    // Round one: archived and aggregated, then the daemon stops.
    await producer.produce("weblogs", events(10, 0));
    let stop = new AbortController();
    let daemon = await startDaemon(config, { logger: silentLogger, signal: stop.signal });
    await until(
      "10 archived",
      () => count("select count(*) n from events"),
      (n) => n === 10,
    );
    await until(
      "10 aggregated",
      () => count("select coalesce(sum(count), 0) n from requests"),
      (n) => n === 10,
    );
    stop.abort();
    await daemon.done;

    // While it is down: 7,000 events of about 1 KB, well past what the mock keeps.
    for (let i = 0; i < 7000; i += 700) await producer.produce("weblogs", events(700, 10 + i));
    const [range] = await producer.partitions("weblogs");
    expect(range!.high).toBe(7010);
    expect(range!.low).toBeGreaterThan(10);

    stop = new AbortController();
    daemon = await startDaemon(config, { logger: silentLogger, signal: stop.signal });
    try {
      const lost = (group: string) =>
        daemon.metrics.get("logbench_bus_lost_total", { group, topic: "weblogs", partition: "0" });
      await until(
        "archive + lost = sent",
        async () => (await count("select count(*) n from events")) + lost("archive"),
        (n) => n === 7010,
      );
      await until(
        "series + lost = sent",
        async () => (await count("select coalesce(sum(count), 0) n from requests")) + lost("aggregate"),
        (n) => n === 7010,
      );
      expect(lost("archive")).toBeGreaterThan(0);
      expect(lost("aggregate")).toBeGreaterThan(0);
      // Nothing twice: every archived offset range is distinct (the events carry distinct ts).
      expect(await count("select count(distinct ts) n from events")).toBe(7010 - lost("archive"));

      const health = await fetch(`${daemon.apiUrl}/healthz`);
      expect(health.status).toBe(503);
      const body = (await health.json()) as { problems: string[] };
      expect(body.problems.join("\n")).toMatch(/group archive lost \d+ offsets of weblogs\/0 to retention/);

      const gaps = await runSql(config, ctx, "select partition, first_offset, last_offset, lost from gaps");
      expect(gaps.reduce((n, g) => n + Number(g.lost), 0)).toBe(lost("archive"));
      expect(Number(gaps[0]!.first_offset)).toBe(10);
    } finally {
      stop.abort();
      await daemon.done.catch(() => {});
      await producer.close();
    }
  });
});
