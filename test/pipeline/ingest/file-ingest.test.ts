/**
 * Exactly-once from file to bus: a crash after the bus acknowledged a batch but before the position was saved
 * must not put those lines on the bus twice, nor lose the ones after them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import type { Bus } from "../../../connectors/types.ts";
import { ingestFile } from "../../../pipeline/ingest/file-ingest.ts";
import { createParser } from "../../../pipeline/ingest/parse/index.ts";
import { PositionStore } from "../../../pipeline/ingest/positions.ts";
import { Publisher } from "../../../pipeline/ingest/publisher.ts";
import type { DeadLetter, LogEvent } from "../../../pipeline/model/log-event.ts";

const TOPICS = { events: "weblogs", deadLetters: "weblogs.dlq" };

function logFile(dir: string): { file: string; good: number; bad: number } {
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    // Repeated identical lines on purpose: recovery must count copies, not just recognise a line.
    const second = String(i % 7).padStart(2, "0");
    if (i % 10 === 9) lines.push(`garbage line ${i}`);
    else lines.push(`host${i % 4} - - [01/Jul/1995:00:00:${second} -0400] "GET /p${i % 3} HTTP/1.0" 200 ${i % 5}`);
  }
  const file = join(dir, "access.log");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, good: lines.filter((l) => !l.startsWith("garbage")).length, bad: 12 };
}

async function everything(bus: Bus) {
  const all = { from: 0, to: Number.MAX_SAFE_INTEGER };
  const decode = (v: Uint8Array) => JSON.parse(new TextDecoder().decode(v));
  const events = (await bus.readWindow(TOPICS.events, all)).map((m) => decode(m.value) as LogEvent);
  const dead = (await bus.readWindow(TOPICS.deadLetters, all)).map((m) => decode(m.value) as DeadLetter);
  return { events, dead };
}

describe("ingestFile", () => {
  for (const crashAfter of [1, 3]) {
    it(`puts every line on the bus once when the process dies after batch ${crashAfter} was acknowledged`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-ingest-"));
      const { file, good, bad } = logFile(dir);
      const ctx = silentContext();
      const bus = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 3, fsync: false }, ctx);
      const parser = createParser("clf", { keepRaw: true });
      const base = { source: "spool", file, parser, maxLineBytes: 65536, batchLines: 10, ctx };

      // First run: marks() is what runs between "acknowledged" and "position saved"; fail it to play the crash.
      const crashing = new Publisher(bus, TOPICS, ctx);
      let acknowledged = 0;
      const realMarks = crashing.marks.bind(crashing);
      crashing.marks = async () => {
        if (acknowledged++ === crashAfter) throw new Error("simulated crash");
        return realMarks();
      };
      const positions = new PositionStore(join(dir, "state"), "spool");
      await expect(ingestFile({ ...base, publisher: crashing, positions })).rejects.toThrow("simulated crash");
      const before = await everything(bus);
      expect(before.events.length + before.dead.length).toBe(crashAfter * 10);

      // Restart: a fresh position store reads what the first run saved.
      const restarted = new PositionStore(join(dir, "state"), "spool");
      expect(await ingestFile({ ...base, publisher: new Publisher(bus, TOPICS, ctx), positions: restarted })).toBe(
        "done",
      );
      const after = await everything(bus);
      expect(after.events.length).toBe(good);
      expect(after.dead.length).toBe(bad);
      const raws = after.events.map((e) => e.raw).sort();
      const expectedRaws = (await import("node:fs"))
        .readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("garbage"))
        .sort();
      expect(raws).toEqual(expectedRaws);
      expect(new Set(after.dead.map((d) => d.offset)).size).toBe(bad);
      await bus.close();
    });
  }
});
