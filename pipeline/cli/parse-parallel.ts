/**
 * `logbench parse --threads N`: the input is cut into pieces that N worker threads (parse-worker.ts) parse, and
 * the answers are written in input order. A regular file is cut into byte ranges that each worker reads itself
 * (the main thread only writes); standard input and pipes are read here and cut into blocks of whole lines. The
 * output is byte for byte the one-thread path's, and so are the dead letters but for their `at` (when they were
 * made). Lines are numbered here, as the answers are written in order, because only then are the lines before a
 * piece known.
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Line } from "../ingest/lines.ts";
import { type LineParser, parseLine, toDeadLetter } from "../ingest/parse/index.ts";
import type { ParseResult, ParseTask, ParseWorkerSetup } from "./parse-worker.ts";

/** Bytes per file range, and per block of standard input at most. */
export const PIECE_BYTES = 4 << 20;

type Task = ParseTask extends infer T ? (T extends ParseTask ? Omit<T, "id"> : never) : never;

interface Pending {
  resolve: (r: ParseResult) => void;
  reject: (e: Error) => void;
}

/** Workers that parse pieces; answers come in any order, the caller keeps the order. */
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

  /** Parse one piece (a block is transferred: the caller must not touch it again). */
  run(task: Task): Promise<ParseResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length]!;
    const piece = new Promise<ParseResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg = { ...task, id } as ParseTask;
      worker.postMessage(msg, msg.kind === "block" ? [msg.block.buffer as ArrayBuffer] : []);
    });
    // Awaited in order by the writer; until then a failure must not count as unhandled.
    piece.catch(() => {});
    return piece;
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

export interface ParallelOptions {
  pool: ParsePool;
  /** The same parser the workers use (here it only words a too-long line's reason). */
  parser: LineParser;
  /** The input's name in dead letters. */
  file: string;
  source: string;
  maxLineBytes: number;
  /** How many pieces may be in flight (bounds memory). */
  inFlight: number;
  /** Bytes per piece (PIECE_BYTES). */
  pieceBytes?: number;
  /** Writes one answer: events as NDJSON bytes, dead letters (numbered) as NDJSON text. */
  write: (events: Uint8Array, dead: string, r: ParseResult) => Promise<void>;
  /** The reader of the output went away: stop. */
  stop: () => boolean;
}

/** Writes answers in input order, numbering the dead letters' lines. */
class OrderedWriter {
  private readonly queue: Array<Promise<ParseResult>> = [];
  private linesBefore = 0;
  constructor(private readonly o: ParallelOptions) {}

  /** Queues a piece, then writes answers until at most `inFlight` are pending. */
  async push(piece: Promise<ParseResult>): Promise<void> {
    this.queue.push(piece);
    await this.drain(this.o.inFlight);
  }

  async drain(keep = 0): Promise<void> {
    while (this.queue.length > keep && !this.o.stop()) {
      const r = await this.queue.shift()!;
      let dead = "";
      for (const d of r.dead) {
        d.line = (d.line ?? 0) + this.linesBefore;
        dead += `${JSON.stringify(d)}\n`;
      }
      this.linesBefore += r.lines;
      await this.o.write(r.events, dead, r);
    }
  }
}

/** Parses the regular file `path` (of `size` bytes) as ranges that the workers read. */
export async function parseFileParallel(path: string, size: number, o: ParallelOptions): Promise<void> {
  const writer = new OrderedWriter(o);
  const step = o.pieceBytes ?? PIECE_BYTES;
  for (let start = 0; start < size && !o.stop(); start += step) {
    const end = Math.min(size, start + step);
    // The last range reads to the end of the file, even if it grew since it was measured.
    await writer.push(
      o.pool.run({
        kind: "range",
        path,
        file: o.file,
        start,
        end: end === size ? Number.MAX_SAFE_INTEGER : end,
        bytes: end - start,
      }),
    );
  }
  await writer.drain();
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

/**
 * Parses a stream (standard input, a pipe) through the pool: blocks end at a newline, and the bytes after a
 * read's last newline wait for the next read. A partial line longer than maxLineBytes is not held: its first
 * maxLineBytes bytes are kept, the rest is skipped to its newline, and its dead letter is made here.
 */
export async function parseStreamParallel(chunks: AsyncIterable<Uint8Array>, o: ParallelOptions): Promise<void> {
  const max = o.maxLineBytes;
  const blockBytes = o.pieceBytes ?? PIECE_BYTES;
  const writer = new OrderedWriter(o);
  let offset = 0; // of the first byte not yet in a block
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  // The start of a line too long to hold.
  let longHead: Uint8Array | null = null;

  const dispatch = async (block: Uint8Array) => {
    const size = block.length; // before the transfer empties it
    const piece = o.pool.run({ kind: "block", block, file: o.file, offset });
    offset += size;
    await writer.push(piece);
  };
  /** The too-long line that ends at `end` (after its newline) becomes a piece of its own. */
  const longLine = async (end: number) => {
    const line: Line = { bytes: longHead!, lineNo: 1, offset, end, tooLong: true };
    const outcome = parseLine(o.parser, line, o.source);
    const letter = toDeadLetter(line, outcome.ok ? "" : outcome.reason, o.source, o.file);
    offset = end;
    longHead = null;
    await writer.push(Promise.resolve({ id: -1, events: new Uint8Array(0), dead: [letter], lines: 1, eventCount: 0 }));
  };

  for await (const chunk of chunks) {
    if (o.stop()) return;
    let pos = 0;
    if (longHead !== null) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        heldBytes += chunk.length;
        continue;
      }
      await longLine(offset + heldBytes + nl + 1);
      heldBytes = 0;
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < pos) {
      const rest = chunk.subarray(pos);
      if (heldBytes + rest.length > max + 1) {
        // No newline within max + 1 bytes: keep the line's first max bytes, count the rest as it streams past.
        longHead = joinParts([...held, rest], heldBytes + rest.length).subarray(0, max);
        held = [];
      } else held.push(Buffer.from(rest));
      heldBytes += rest.length;
      continue;
    }
    // Whole lines up to the last newline go out in blocks of about blockBytes.
    let from = pos;
    while (from <= last) {
      let cut = last;
      if (last + 1 - from + heldBytes > blockBytes) {
        const at = chunk.lastIndexOf(10, from + Math.max(0, blockBytes - heldBytes));
        cut = at >= from ? at : chunk.indexOf(10, from);
      }
      const part = chunk.subarray(from, cut + 1);
      const block = joinParts([...held, part], heldBytes + part.length);
      held = [];
      heldBytes = 0;
      await dispatch(block);
      from = cut + 1;
    }
    if (from < chunk.length) {
      held.push(Buffer.from(chunk.subarray(from)));
      heldBytes += chunk.length - from;
    }
  }
  if (longHead !== null) await longLine(offset + heldBytes);
  else if (heldBytes > 0) await dispatch(joinParts(held, heldBytes));
  await writer.drain();
}
