/**
 * Messages on the events topic that are not LogEvents (not UTF-8, not JSON, no ts, a field of the wrong type) go to the
 * dead letters with the message's place and a reason; the good ones around them are archived, and the stage keeps
 * running instead of failing on the same message after every restart.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import { ArchiveStage } from "../../../pipeline/archive/stage.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import type { DeadLetter } from "../../../pipeline/model/log-event.ts";
import { runSql } from "../../../pipeline/query/catalog.ts";

describe("archive stage and bad bus messages", () => {
  it("dead-letters what is not a LogEvent and archives the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-bad-"));
    const config = parseConfig(
      {
        bus: { type: "local", dir: "bus", partitions: 1, fsync: false },
        archive: { type: "local", dir: "archive" },
        archiver: { roll: { idle: "200ms" } },
      },
      { baseDir: dir },
    );
    const ctx = silentContext();
    const bus = createLocalBus(config.bus as never, ctx);
    const notUtf8 = Buffer.concat([
      Buffer.from('{"ts":804556800000,"path":"/a'),
      Buffer.from([0xff]),
      Buffer.from('","source":"t"}'),
    ]);
    const good = {
      ts: Date.UTC(1995, 6, 1),
      host: "h",
      method: "GET",
      path: "/ok",
      status: 200,
      bytes: 5,
      source: "t",
    };
    await bus.produce("weblogs", [
      { key: "h", value: JSON.stringify(good) }, // optional fields missing: fine, they become null
      { key: "h", value: "GET / HTTP/1.0" },
      { key: "h", value: JSON.stringify({ host: "h", source: "t" }) },
      { key: "h", value: JSON.stringify({ ...good, status: "200" }) },
      // JSON but not UTF-8 (0xff cannot start a character): its bytes must not reach the spool DuckDB reads.
      { key: "h", value: notUtf8 },
    ]);
    const fatal: unknown[] = [];
    const stage = new ArchiveStage({
      bus,
      store: createLocalArchive(config.archive as never, ctx),
      topic: "weblogs",
      deadLetterTopic: "weblogs.dlq",
      config: config.archiver,
      scratchDir: join(dir, "tmp"),
      ctx,
      onFatal: (err) => fatal.push(err),
    });
    await stage.start();
    const deadline = Date.now() + 20_000;
    let archived: Record<string, unknown>[] = [];
    while (Date.now() < deadline && archived.length === 0) {
      await new Promise((r) => setTimeout(r, 200));
      archived = await runSql(config, ctx, "select path, ident, referrer from events");
    }
    await stage.stop();
    expect(fatal).toEqual([]);
    expect(archived).toEqual([{ path: "/ok", ident: null, referrer: null }]);
    const dead = (await bus.readWindow("weblogs.dlq", { from: 0, to: Number.MAX_SAFE_INTEGER })).map(
      (m) => JSON.parse(new TextDecoder().decode(m.value)) as DeadLetter,
    );
    expect(dead.map((d) => [d.raw, d.reason])).toEqual([
      ["GET / HTTP/1.0", "bus message is not JSON"],
      ['{"host":"h","source":"t"}', "bus message has no numeric ts"],
      [JSON.stringify({ ...good, status: "200" }), "bus message field status is a string"],
      ['{"ts":804556800000,"path":"/a\ufffd","source":"t"}', "bus message is not valid UTF-8"],
    ]);
    expect(Buffer.from(dead[3]!.rawBase64, "base64").equals(notUtf8)).toBe(true);
    expect(dead.every((d) => d.source === "bus" && d.file === "weblogs" && d.line === 0 && d.offset !== null)).toBe(
      true,
    );
    expect(ctx.metrics.get("logbench_archive_dead_letters_total", { topic: "weblogs" })).toBe(4);
    await bus.close();
  });
});
