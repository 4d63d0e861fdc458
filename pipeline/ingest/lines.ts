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
  const finish = (tail: Uint8Array, end: number, hasNewline: boolean): Line => {
    let bytes = tail;
    let ascii = chunkAscii;
    if (heldBytes > 0) {
      ascii = false;
      bytes = concat(held, heldBytes, tail);
      held = [];
      heldBytes = 0;
    }
    let tooLong = skipping;
    skipping = false;
    if (!tooLong && hasNewline && bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    if (bytes.length > max) tooLong = true;
    if (tooLong) bytes = bytes.subarray(0, max);
    const line: Line = { bytes, lineNo: lineNo++, offset: lineStart, end, tooLong, ascii };
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
      let tail = chunk.subarray(pos, nl);
      if (skipping) tail = tail.subarray(0, 0);
      else if (heldBytes + tail.length > max + 1) {
        // Only the part that fits is needed; the rest of the line is dropped here.
        hold(tail);
        tail = tail.subarray(0, 0);
      }
      batch.push(finish(tail, chunkStart + nl + 1, true));
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
  if (flush && chunkStart > lineStart) yield [finish(new Uint8Array(0), chunkStart, false)];
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
