/**
 * readLines: lines and byte offsets whatever the chunking, CRLF, over-long lines without holding
 * them, resuming at a byte offset, and partial last lines for tailing sources.
 */
import { createReadStream, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Line, type ReadLinesOptions, readLines } from "../../../pipeline/ingest/lines.ts";
import { createParser, parseLine } from "../../../pipeline/ingest/parse/index.ts";

const enc = new TextEncoder();
const SAMPLE_LINES = readFileSync(new URL("../../../data/samples/elastic-apache-combined.log", import.meta.url), "utf8")
  .split("\n")
  .slice(0, 20);
const dec = new TextDecoder();

async function* chunked(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = Math.max(1, sizes.length ? sizes[i++ % sizes.length]! : data.length);
    yield data.subarray(at, at + n);
    at += n;
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>, opts?: ReadLinesOptions): Promise<Line[][]> {
  const batches: Line[][] = [];
  for await (const b of readLines(chunks, opts)) batches.push(b);
  return batches;
}

const flat = async (chunks: AsyncIterable<Uint8Array>, opts?: ReadLinesOptions) => (await collect(chunks, opts)).flat();
const texts = (lines: Line[]) => lines.map((l) => dec.decode(l.bytes));

describe("readLines", () => {
  it("gives each line with its number, start offset and the offset after its newline", async () => {
    const lines = await flat(chunked(enc.encode("ab\n\ncde\nf"), [3]));
    expect(lines.map((l) => [dec.decode(l.bytes), l.lineNo, l.offset, l.end, l.tooLong])).toEqual([
      ["ab", 1, 0, 3, false],
      ["", 2, 3, 4, false],
      ["cde", 3, 4, 8, false],
      ["f", 4, 8, 9, false],
    ]);
  });

  it("strips the \\r of CRLF endings but keeps the offsets of the bytes on disk", async () => {
    const lines = await flat(chunked(enc.encode("a\r\nbc\r\n\r\nlone\rcr\n"), [2]));
    expect(texts(lines)).toEqual(["a", "bc", "", "lone\rcr"]);
    expect(lines.map((l) => l.end)).toEqual([3, 7, 9, 17]);
  });

  it("finds the same lines and offsets for any chunking (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.stringMatching(/^[a-z\r ]{0,12}$/), { maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        async (parts, trailingNewline, sizes) => {
          const text = parts.join("\n") + (trailingNewline && parts.length ? "\n" : "");
          const data = enc.encode(text);
          const lines = await flat(chunked(data, sizes), { batchLines: 3 });
          const pieces = text.split("\n");
          // Every piece but the last was ended by a newline; an empty last piece is no line at all.
          const expected = pieces.slice(0, pieces.at(-1) === "" ? -1 : undefined);
          const ended = (i: number) => i < pieces.length - 1;
          expect(texts(lines)).toEqual(expected.map((l, i) => (ended(i) && l.endsWith("\r") ? l.slice(0, -1) : l)));
          let offset = 0;
          lines.forEach((l, i) => {
            expect(l.offset).toBe(offset);
            expect(l.lineNo).toBe(i + 1);
            offset += enc.encode(expected[i]!).length + 1;
            expect(l.end).toBe(Math.min(offset, data.length));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("gives parseLine the reason parser.parse gives for a line that is not UTF-8, read from inside a chunk", async () => {
    const parser = createParser("clf");
    const good = '1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] "GET /a HTTP/1.0" 200 5';
    const bad = Uint8Array.from([...enc.encode('h - - [01/Jul/1995:00:00:01 -0400] "GET /'), 0xff, 0xc3]);
    const data = new Uint8Array([...enc.encode(`${good}\n`), ...bad, 10, ...enc.encode(`${good}\r\n`)]);
    const lines = await flat(chunked(data, [data.length]));
    const outcomes = lines.map((l) => parseLine(parser, l, "s"));
    expect(outcomes).toEqual(lines.map((l) => parser.parse(l.bytes, "s")));
    // 0xff is byte 41 of its line: "h - - " (6) + the bracketed time (28) + ` "GET /` (7).
    expect(outcomes.map((o) => (o.ok ? o.event.path : o.reason))).toEqual(["/a", "invalid UTF-8 at byte 41", "/a"]);
  });

  it("marks a line ascii only when every byte is below 0x80, and the parsers read it the same either way", async () => {
    const parser = createParser("combined");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...SAMPLE_LINES, "é", "\u00ff x", "\r", ""), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 5 }),
        async (parts, sizes) => {
          const lines = await flat(chunked(enc.encode(parts.join("\n")), sizes));
          for (const l of lines) {
            if (l.ascii) expect(l.bytes.every((b) => b < 0x80)).toBe(true);
            expect(parseLine(parser, l, "s")).toEqual(parser.parse(l.bytes, "s"));
          }
        },
      ),
      { numRuns: 300 },
    );
    // Without that check nothing would be marked: whole ASCII chunks must be.
    const [one] = await flat(chunked(enc.encode(`${SAMPLE_LINES[0]}\n`), [1000]));
    expect(one!.ascii).toBe(true);
  });

  it("yields batches of at most batchLines, and as soon as a chunk is used up", async () => {
    const data = enc.encode("1\n2\n3\n4\n5\n");
    expect((await collect(chunked(data, [data.length]), { batchLines: 2 })).map((b) => b.length)).toEqual([2, 2, 1]);
    expect((await collect(chunked(data, [4]))).map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it("turns an over-long line into one tooLong line holding its first maxLineBytes bytes", async () => {
    const long = "x".repeat(50);
    for (const sizes of [[1000], [7], [1]]) {
      const lines = await flat(chunked(enc.encode(`ok\n${long}\nnext\n`), sizes), { maxLineBytes: 10 });
      expect(texts(lines)).toEqual(["ok", "x".repeat(10), "next"]);
      expect(lines.map((l) => l.tooLong)).toEqual([false, true, false]);
      expect(lines[1]).toMatchObject({ offset: 3, end: 54, lineNo: 2 });
      expect(lines[2]).toMatchObject({ offset: 54, lineNo: 3 });
    }
  });

  it("counts the limit without the \\r of a CRLF: a line of exactly maxLineBytes is not too long", async () => {
    const lines = await flat(chunked(enc.encode("0123456789\r\n0123456789A\r\n"), [4]), { maxLineBytes: 10 });
    expect(lines.map((l) => [dec.decode(l.bytes), l.tooLong])).toEqual([
      ["0123456789", false],
      ["0123456789", true],
    ]);
  });

  it("reads a 64 MiB line in bounded memory", async () => {
    const chunk = new Uint8Array(1 << 20).fill(97);
    async function* huge() {
      yield enc.encode("head\n");
      for (let i = 0; i < 64; i++) yield chunk;
      yield enc.encode("\ntail\n");
    }
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const lines: Line[] = [];
    for await (const batch of readLines(huge())) {
      lines.push(...batch);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(texts(lines).map((t) => t.length)).toEqual([4, 65536, 4]);
    expect(lines[1]!.tooLong).toBe(true);
    expect(lines[2]!.offset).toBe(5 + 64 * (1 << 20) + 1);
    expect(peak).toBeLessThan(16 << 20);
  });

  it("leaves a last line without newline for later when flushPartialAtEnd is false", async () => {
    const lines = await flat(chunked(enc.encode("a\nb\npart"), [3]), { flushPartialAtEnd: false });
    expect(texts(lines)).toEqual(["a", "b"]);
    expect(lines.at(-1)!.end).toBe(4);
  });

  it("resumes at a byte offset from a file with createReadStream({ start }) and numbers lines on", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lines-"));
    const file = join(dir, "log.txt");
    await writeFile(file, "first\r\nsecond\nthird\nfourth\n");
    const all = await flat(createReadStream(file));
    const cut = all[1]!;
    const rest = await flat(createReadStream(file, { start: cut.end }), {
      startOffset: cut.end,
      startLine: cut.lineNo,
    });
    // A Line's public fields (readLines' lines also say where they lie in their chunk, which differs here).
    const view = (l: Line) => ({
      bytes: [...l.bytes],
      lineNo: l.lineNo,
      offset: l.offset,
      end: l.end,
      tooLong: l.tooLong,
    });
    expect(rest.map(view)).toEqual(all.slice(2).map(view));
    expect(rest.map(view)[0]).toEqual({
      bytes: [...Buffer.from("third")],
      lineNo: 3,
      offset: 14,
      end: 20,
      tooLong: false,
    });
    const bytes = readFileSync(file);
    for (const l of all)
      expect(dec.decode(bytes.subarray(l.offset, l.end))).toMatch(new RegExp(`^${dec.decode(l.bytes)}\r?\n$`));
  });
});
