/** The spool folder's backlog gauges: bytes and files not yet completed, counted down as the files are read. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MetricsRegistry, silentLogger } from "../../../../connectors/context.ts";
import { Publisher } from "../../../../pipeline/ingest/publisher.ts";
import { createSpoolDirSource, spooldirSourceSchema } from "../../../../pipeline/ingest/sources/spooldir.ts";
import { harness, lines, TOPICS, until } from "./tail-helpers.ts";

describe("spooldir source", () => {
  it("reports what is waiting in the folder as backlog bytes and files, down to 0 once all is completed", async () => {
    const h = harness();
    const spool = join(h.dir, "spool");
    mkdirSync(spool);
    const a = `${lines(0, 40).join("\n")}\n`;
    const b = `${lines(40, 50).join("\n")}\n`;
    writeFileSync(join(spool, "a.log"), a);
    writeFileSync(join(spool, "b.log"), b);
    const metrics = new MetricsRegistry();
    const stop = new AbortController();
    const ctx = { logger: silentLogger, metrics, signal: stop.signal };
    const publisher = new Publisher(h.bus, TOPICS, ctx);
    // Each batch waits for the test to look at the gauges.
    const seen: [number, number][] = [];
    const publish = publisher.publish.bind(publisher);
    publisher.publish = async (...args) => {
      seen.push([
        metrics.get("logbench_source_backlog_bytes", { source: "spool" }),
        metrics.get("logbench_source_backlog_files", { source: "spool" }),
      ]);
      return publish(...args);
    };
    const config = spooldirSourceSchema.parse({ type: "spooldir", dir: spool, format: "clf", batchLines: 20 });
    const run = createSpoolDirSource(config, {
      publisher,
      stateDir: join(h.dir, "state"),
      parse: { maxLineBytes: 65536, keepRaw: false },
      ctx,
    }).run();
    await until("both files completed", () => existsSync(join(spool, "b.log.COMPLETED")));
    await until("the gauges at 0", () => metrics.get("logbench_source_backlog_files", { source: "spool" }) === 0);
    stop.abort();
    await run;
    const firstBatch = Buffer.byteLength(
      lines(0, 20)
        .map((l) => `${l}\n`)
        .join(""),
    );
    expect(seen).toEqual([
      [a.length + b.length, 2],
      [a.length + b.length - firstBatch, 2],
      [b.length, 1],
    ]);
    expect(metrics.get("logbench_source_backlog_bytes", { source: "spool" })).toBe(0);
  });
});
