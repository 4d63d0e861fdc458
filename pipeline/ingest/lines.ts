/**
 * Splits a byte stream into lines with their byte offsets, in bounded memory.
 *
 * Offsets are what makes ingest resumable (DESIGN §4): a source records `end` of the last line the bus
 * acknowledged and restarts with `fs.createReadStream(file, { start: end })` and
 * `readLines(stream, { startOffset: end, startLine: lineNo })` (lineNo of that same line).
 * A line is never held beyond maxLineBytes + 1 bytes: the rest of an over-long line is skipped
 * as it streams past, and the line comes out once, marked tooLong.
 */

import * as buffer from "node:buffer";

// buffer.isAscii: Node 18.15+/19.6+; absent elsewhere, then no line is marked ascii.
const isAscii = (buffer as { isAscii?: (b: Uint8Array) => boolean }).isAscii;

/** One line of input, without its `\n` (and without the `\r` of a `\r\n`). */
export interface Line {
  /** The line's bytes; for a tooLong line, its first maxLineBytes bytes. May share memory with the input chunk. */
  bytes: Uint8Array;
  /** 1-based line number. */
  lineNo: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Offset just after the line's newline (after its last byte when the input ended without one). */
  end: number;
  /** The line was longer than maxLineBytes; `bytes` holds only its start. */
  tooLong: boolean;
  /** Every byte is below 0x80 (known when the line lies in one chunk and that chunk is ASCII). */
  ascii?: boolean;
}

/**
 * The Line readLines yields: where its bytes lie in a chunk, and `bytes` made only when asked for. A view per line
 * (a Buffer subarray) was about a tenth of the CLF parse; parseLine decodes the range straight from the chunk.
 */
export class ChunkLine implements Line {
  constructor(
    /** The chunk (or the copy of a line that spans chunks) holding the line. */
    readonly chunk: Uint8Array,
    /** The line's bytes are chunk[start..stop) (for a tooLong line, its first maxLineBytes). */
    readonly start: number,
    readonly stop: number,
    readonly lineNo: number,
    readonly offset: number,
    readonly end: number,
    readonly tooLong: boolean,
    readonly ascii: boolean,
  ) {}

  get bytes(): Uint8Array {
    return this.chunk.subarray(this.start, this.stop);
  }
}

export interface ReadLinesOptions {
  /** Longest line kept whole, in bytes (without the newline). Default 65536. */
  maxLineBytes?: number;
  /** Offset of the first chunk's first byte in the file (when resuming). Default 0. */
  startOffset?: number;
  /**
   * Lines before startOffset: when resuming, the lineNo of the last line already read. The first line
   * yielded is numbered startLine + 1. Default 0.
   */
  startLine?: number;
  /** Most lines per yielded batch. Default 5000. */
  batchLines?: number;
  /**
   * Emit a last line that has no newline when the input ends. Default true; a tailing source sets
   * false and re-reads from the last `end` when the file grows.
   */
  flushPartialAtEnd?: boolean;
}

/**
 * Lines of `chunks`, in batches. A batch is yielded when it is full and whenever a chunk is used up,
 * so a slow source (tail, TCP) sees its lines without waiting for a full batch.
 */
export async function* readLines(
  chunks: AsyncIterable<Uint8Array>,
  opts: ReadLinesOptions = {},
): AsyncGenerator<Line[], void, undefined> {
  const max = opts.maxLineBytes ?? 65536;
  const batchLines = Math.max(1, opts.batchLines ?? 5000);
  const flush = opts.flushPartialAtEnd ?? true;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${max}`);
  let lineNo = (opts.startLine ?? 0) + 1;
  let chunkStart = opts.startOffset ?? 0;
  let lineStart = chunkStart;
  // The start of a line that spans chunks: copies, at most max + 1 bytes in all.
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let skipping = false;
  let batch: Line[] = [];

  // One check per chunk (SIMD in Node) lets parsers copy ASCII lines instead of decoding them.
  let chunkAscii = false;
  /** The line whose last part is chunk[from..to) (empty when it was skipped or held). */
  const finish = (chunk: Uint8Array, from: number, to: number, end: number, hasNewline: boolean): Line => {
    let ascii = chunkAscii;
    if (heldBytes > 0) {
      ascii = false;
      chunk = concat(held, heldBytes, chunk.subarray(from, to));
      from = 0;
      to = chunk.length;
      held = [];
      heldBytes = 0;
    }
    let tooLong = skipping;
    skipping = false;
    if (!tooLong && hasNewline && to > from && chunk[to - 1] === 13) to--;
    if (to - from > max) tooLong = true;
    if (tooLong && to - from > max) to = from + max;
    const line = new ChunkLine(chunk, from, to, lineNo++, lineStart, end, tooLong, ascii);
    lineStart = end;
    return line;
  };

  /** Keeps a line's start that continues in a later chunk, up to max + 1 bytes (the +1 tells a `\r`). */
  const hold = (part: Uint8Array) => {
    if (skipping) return;
    const room = max + 1 - heldBytes;
    if (part.length > room) {
      if (room > 0) held.push(part.slice(0, room));
      heldBytes += Math.max(room, 0);
      skipping = true;
      return;
    }
    held.push(part.slice());
    heldBytes += part.length;
  };

  for await (const chunk of chunks) {
    chunkAscii = isAscii?.(chunk) ?? false;
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const nl = chunk.indexOf(10, pos);
      if (nl === -1) {
        hold(chunk.subarray(pos));
        break;
      }
      let to = nl;
      if (skipping) to = pos;
      else if (heldBytes + (nl - pos) > max + 1) {
        // Only the part that fits is needed; the rest of the line is dropped here.
        hold(chunk.subarray(pos, nl));
        to = pos;
      }
      batch.push(finish(chunk, pos, to, chunkStart + nl + 1, true));
      pos = nl + 1;
      if (batch.length >= batchLines) {
        yield batch;
        batch = [];
      }
    }
    chunkStart += n;
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  chunkAscii = false;
  if (flush && chunkStart > lineStart) yield [finish(new Uint8Array(0), 0, 0, chunkStart, false)];
}

function concat(parts: Uint8Array[], size: number, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(size + tail.length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  out.set(tail, at);
  return out;
}
