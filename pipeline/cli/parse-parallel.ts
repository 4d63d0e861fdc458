/**
 * `logbench parse --threads N`: the main thread reads the input, cuts it into blocks of whole lines and hands
 * them to N worker threads (parse-worker.ts), then writes their answers in input order. The output is byte for
 * byte the one-thread path's (dead letters aside, whose `at` is the time they were made). A line longer than
 * --max-line-bytes that spans reads is not held: its start is kept and the rest skipped, as readLines does, and
 * its dead letter is made here.
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Line } from "../ingest/lines.ts";
import { type LineParser, parseLine, toDeadLetter } from "../ingest/parse/index.ts";
import type { ParseBlock, ParseResult, ParseWorkerSetup } from "./parse-worker.ts";

/** Bytes per block handed to a worker (cut back to its last newline). */
export const BLOCK_BYTES = 1 << 20;

interface Pending {
  resolve: (r: ParseResult) => void;
  reject: (e: Error) => void;
}

/** Workers that parse blocks; `parse` answers in any order, the caller keeps the order. */
export class ParsePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  private failure: Error | null = null;
  private closing = false;

  constructor(threads: number, setup: ParseWorkerSetup) {
    const compiled = !import.meta.url.endsWith(".ts");
    const target = new URL(compiled ? "./parse-worker.js" : "./parse-worker.ts", import.meta.url);
    for (let i = 0; i < threads; i++) {
      // Run from the TypeScript sources (no build yet), a worker registers tsx before loading its module.
      const worker = compiled
        ? new Worker(target, { workerData: setup })
        : new Worker(
            `import(${JSON.stringify(tsxApi())})` +
              `.then((m) => { m.register(); return import(${JSON.stringify(target.href)}); })`,
            { eval: true, workerData: setup },
          );
      worker.on("message", (r: ParseResult & { error?: string }) => {
        const p = this.pending.get(r.id);
        this.pending.delete(r.id);
        if (r.error !== undefined) p?.reject(new Error(r.error));
        else p?.resolve(r);
      });
      worker.on("error", (err) => this.fail(err));
      worker.on("exit", (code) => {
        if (!this.closing) this.fail(new Error(`a parse worker exited with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Parse one block (transferred: the caller must not touch it again). */
  parse(block: Uint8Array, file: string, offset: number, linesBefore: number): Promise<ParseResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length]!;
    return new Promise<ParseResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ParseBlock = { id, block, file, offset, linesBefore };
      worker.postMessage(msg, [block.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The URL of tsx's ESM API (its package exports name the CommonJS one for `require.resolve`). */
function tsxApi(): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === "function") return resolve("tsx/esm/api");
  return pathToFileURL(
    createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
}

/** Newlines in `b`. */
function countLines(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** A fresh, unpooled copy of `parts` (it is transferred to a worker). */
function joinParts(parts: Uint8Array[], size: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One block's outcome, in input order: a worker's answer, or a dead letter made here. */
type Piece = Promise<ParseResult>;

export interface ParallelOptions {
  pool: ParsePool;
  /** The same parser the workers use (it only names a too-long line's reason here). */
  parser: LineParser;
  file: string;
  source: string;
  maxLineBytes: number;
  /** How many blocks may be in flight (bounds memory). */
  inFlight: number;
  blockBytes?: number;
  write: (r: ParseResult) => Promise<void>;
  stop: () => boolean;
}

/**
 * Parses one input through the pool. Blocks end at a newline; the bytes after a read's last newline wait for
 * the next read. A partial line longer than maxLineBytes is cut, skipped to its newline and dead-lettered here.
 */
export async function parseParallel(chunks: AsyncIterable<Uint8Array>, o: ParallelOptions): Promise<void> {
  const max = o.maxLineBytes;
  const blockBytes = o.blockBytes ?? BLOCK_BYTES;
  const queue: Piece[] = [];
  let offset = 0; // of the first byte not yet in a block
  let lines = 0; // lines before that byte
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  // A line too long to hold: its first max bytes, and where it started.
  let longHead: Uint8Array | null = null;

  const drain = async (keep: number) => {
    while (queue.length > keep) {
      await o.write(await queue.shift()!);
      if (o.stop()) return;
    }
  };
  const dispatch = async (block: Uint8Array) => {
    // Measured before the block is transferred (and reads as empty here).
    const size = block.length;
    const count = countLines(block);
    const piece = o.pool.parse(block, o.file, offset, lines);
    // Awaited in order by drain; until then a failure must not count as unhandled.
    piece.catch(() => {});
    queue.push(piece);
    offset += size;
    lines += count;
    await drain(o.inFlight);
  };
  /** The dead letter of the too-long line that ends at `end` (after its newline), in order. */
  const longLine = (end: number) => {
    const line: Line = { bytes: longHead!, lineNo: lines + 1, offset, end, tooLong: true };
    const outcome = parseLine(o.parser, line, o.source);
    const text = `${JSON.stringify(toDeadLetter(line, outcome.ok ? "" : outcome.reason, o.source, o.file))}\n`;
    queue.push(
      Promise.resolve({
        id: -1,
        events: new Uint8Array(0),
        dead: Buffer.from(text),
        lines: 1,
        eventCount: 0,
        deadCount: 1,
      }),
    );
    lines++;
    offset = end;
    longHead = null;
  };

  for await (const chunk of chunks) {
    let pos = 0;
    if (longHead !== null) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        heldBytes += chunk.length;
        continue;
      }
      longLine(offset + heldBytes + nl + 1);
      heldBytes = 0;
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < pos) {
      const rest = chunk.subarray(pos);
      if (heldBytes + rest.length > max + 1) {
        // No newline within max + 1 bytes: keep the line's first max bytes, count the rest as it streams past.
        const head = joinParts([...held, rest], heldBytes + rest.length).subarray(0, max);
        longHead = head;
        heldBytes += rest.length;
        held = [];
      } else {
        held.push(Buffer.from(rest));
        heldBytes += rest.length;
      }
      continue;
    }
    // Whole lines up to the last newline go out in blocks of about blockBytes.
    let from = pos;
    while (from <= last) {
      let cut = last;
      // Cut only a read much larger than a block, so that one read makes one block.
      if (last + 1 - from + heldBytes > 2 * blockBytes) {
        const at = chunk.lastIndexOf(10, from + Math.max(0, blockBytes - heldBytes));
        cut = at >= from ? at : chunk.indexOf(10, from);
      }
      const part = chunk.subarray(from, cut + 1);
      const block = joinParts([...held, part], heldBytes + part.length);
      held = [];
      heldBytes = 0;
      await dispatch(block);
      if (o.stop()) return;
      from = cut + 1;
    }
    if (from < chunk.length) {
      held.push(Buffer.from(chunk.subarray(from)));
      heldBytes += chunk.length - from;
    }
  }
  if (longHead !== null) longLine(offset + heldBytes);
  else if (heldBytes > 0) await dispatch(joinParts(held, heldBytes));
  await drain(0);
}
