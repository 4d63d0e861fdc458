/**
 * One partition of the local file log: an append-only file of frames (frame.ts).
 *
 * Appends from every process go through the partition's lock file (lock-file.ts). Under the lock,
 * the writer first walks the frames written since the end it last knew; a frame cut short or not
 * valid there is the tail of a writer that was killed, and is cut away before the new frames are
 * written (one write, then fdatasync when configured). So valid frames are never moved or removed,
 * and offsets (byte positions) only grow: they are monotonic, not dense.
 */
import { type FileHandle, open } from "node:fs/promises";
import type { Logger } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { checkFrame, decodeFrame, lastFrameStart, type StoredFrame } from "./frame.ts";
import { acquireLock, type HeldLock } from "./lock-file.ts";

/** A record read back with its offset (and the partition readChunk was told, -1 when none). */
export type StoredRecord = StoredFrame;

export interface ChunkRead {
  records: StoredRecord[];
  /** Position after the last valid frame read. */
  next: number;
  /** end: nothing after `next`; more: stopped at maxBytes; tail: a frame cut short or invalid at `next`. */
  status: "end" | "more" | "tail";
  size: number;
  /** Start of the last valid frame walked, or -1. */
  last: number;
}

/** Byte positions `[from, to)`, both frame boundaries, holding only frames this process found valid. */
export interface CheckedSpan {
  from: number;
  to: number;
}

const NOTHING_CHECKED: CheckedSpan = { from: 0, to: 0 };

/**
 * Read the valid frames from `from` (a frame boundary), at most about `maxBytes` (a single larger
 * frame is read whole). `decode` false only walks the frames; the walk also stops at the first
 * boundary at or after `stopAt`. Records carry `partition` (a bus message each, as they are).
 * A frame wholly inside `checked` is not checksummed again (its magic and lengths still are); the span is read as
 * each frame is walked, so it may grow while the read waits on the file.
 */
export async function readChunk(
  handle: FileHandle,
  from: number,
  maxBytes: number,
  decode = true,
  stopAt = Number.POSITIVE_INFINITY,
  partition = -1,
  checked: CheckedSpan = NOTHING_CHECKED,
): Promise<ChunkRead> {
  const size = (await handle.stat()).size;
  const records: StoredRecord[] = [];
  let last = -1;
  if (from >= size) return { records, next: from, status: "end", size, last };
  let want = Math.min(maxBytes, size - from);
  for (;;) {
    const buf = new Uint8Array(want);
    const { bytesRead } = await handle.read(buf, 0, want, from);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (at < bytesRead) {
      if (from + at >= stopAt) return { records, next: from + at, status: "more", size, last };
      const pos = from + at;
      const inSpan = pos >= checked.from && pos < checked.to;
      let check = checkFrame(buf, at, bytesRead, view, !inSpan);
      // Only a frame that ends inside the span is one found valid before (valid frames never move).
      if (inSpan && check.kind === "frame" && pos + check.length > checked.to)
        check = checkFrame(buf, at, bytesRead, view);
      if (check.kind === "frame") {
        if (decode) {
          records.push(decodeFrame(buf, at, partition, from + at));
        }
        last = from + at;
        at += check.length;
        continue;
      }
      if (check.kind === "incomplete" && from + at + check.need <= size) {
        if (at === 0) break; // one frame larger than maxBytes: read it whole below
        return { records, next: from + at, status: "more", size, last };
      }
      return { records, next: from + at, status: "tail", size, last };
    }
    if (at > 0 || bytesRead === 0) {
      const next = from + at;
      return { records, next, status: next >= size ? "end" : "more", size, last };
    }
    const check = checkFrame(buf, 0, bytesRead);
    if (check.kind !== "incomplete" || check.need <= want) return { records, next: from, status: "tail", size, last };
    want = check.need;
  }
}

/** Walk frames from a known boundary to the end of the valid part; `last`: the last frame's start, or -1. */
export async function validEnd(
  handle: FileHandle,
  from: number,
  checked: CheckedSpan = NOTHING_CHECKED,
): Promise<{ end: number; size: number; last: number }> {
  let pos = from;
  let last = -1;
  for (;;) {
    const r = await readChunk(handle, pos, 4 * 1024 * 1024, false, Number.POSITIVE_INFINITY, -1, checked);
    pos = r.next;
    if (r.last >= 0) last = r.last;
    if (r.status !== "more") return { end: pos, size: r.size, last };
  }
}

/**
 * Where to read from for "the first record at or after `target`": the first boundary at or after
 * it, or the valid end when the target lies beyond it (the reader then skips records below the
 * target). `from` is a known boundary; the walk starts there when it is not past the target.
 */
export async function locate(handle: FileHandle, target: number, from: number): Promise<number> {
  let pos = from <= target ? from : 0;
  while (pos < target) {
    const r = await readChunk(handle, pos, 1024 * 1024, false, target);
    if (r.next === pos && r.status !== "more") return pos;
    pos = r.next;
    if (r.status !== "more") return pos;
  }
  return pos;
}

export interface PartitionLogOptions {
  fsync: boolean;
  lockStaleMs: number;
  lockTimeoutMs: number;
  logger: Logger;
  onTornTail?(bytes: number): void;
}

/**
 * The append lock is kept for appends that follow each other closely (a producer's batches): taking and giving
 * it up (create O_EXCL, write, close, read back, unlink) was an eighth of a replay's CPU. It is given up once no
 * append came for LOCK_LINGER_MS, and at the latest LOCK_HOLD_MS after it was taken, so other writers get turns.
 */
const LOCK_LINGER_MS = 50;
const LOCK_HOLD_MS = 500;

interface PendingAppend {
  frames: Uint8Array;
  resolve(offset: number): void;
  reject(err: unknown): void;
}

export class PartitionLog {
  /** A boundary with only valid frames before it: where the next walk may start. */
  private knownEnd = 0;
  /** Start of the last frame before knownEnd (-1: none, or not known). */
  private knownLast = -1;
  /** Appends waiting for the flush in progress; the next flush writes them all at once (group commit). */
  private pending: PendingAppend[] = [];
  private flushing = false;
  /** Kept open across appends and high() calls: valid frames never move, and a cut tail keeps the inode. */
  private writeHandle: FileHandle | null = null;
  private readHandle: FileHandle | null = null;
  /** The read handle's open while it runs: concurrent range() calls share it (each had opened its own, and all
   * but the last were left for the garbage collector to close). */
  private readOpening: Promise<FileHandle | null> | null = null;
  /** The append lock while kept between appends (see LOCK_LINGER_MS). */
  private lock: HeldLock | null = null;
  private lockTakenAt = 0;
  private lockTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly file: string,
    readonly lockPath: string,
    private readonly options: PartitionLogOptions,
  ) {}

  /**
   * The span of frames found valid in this process (by a walk, a read, or as written here). Valid frames never move
   * or change, so a frame in it need not be checksummed again: the archive and aggregate groups read each frame, and
   * the high watermark walks it, each of which checksummed it before.
   */
  private readonly checkedSpan: CheckedSpan = { from: 0, to: 0 };

  get checked(): CheckedSpan {
    return this.checkedSpan;
  }

  /** Note `[from, to)` (frame boundaries) as holding only valid frames; it joins the span it meets, or starts one. */
  noteChecked(from: number, to: number): void {
    const span = this.checkedSpan;
    if (to <= from) return;
    // Changed in place: a read under way (readChunk was handed this object) sees what other reads found meanwhile.
    if (from <= span.to && to >= span.from) {
      span.from = Math.min(from, span.from);
      span.to = Math.max(to, span.to);
    } else if (to > span.to) {
      span.from = from;
      span.to = to;
    }
  }

  /** readChunk on this partition's file, with the checked span used and then grown by what was read. */
  async read(handle: FileHandle, from: number, maxBytes: number, partition: number): Promise<ChunkRead> {
    const chunk = await readChunk(handle, from, maxBytes, true, Number.POSITIVE_INFINITY, partition, this.checkedSpan);
    this.noteChecked(from, chunk.next);
    return chunk;
  }

  /** Sparse, sorted frame boundaries seen in this process (valid frames never move, so they stay true). */
  private readonly boundaries: number[] = [0];

  /** Note a boundary (kept roughly every 256 KiB) so later seeks need not walk from 0. */
  remember(boundary: number): void {
    const last = this.boundaries[this.boundaries.length - 1]!;
    if (boundary >= last + 256 * 1024) this.boundaries.push(boundary);
  }

  /** The greatest known boundary at or below `target`. */
  hint(target: number): number {
    let lo = 0;
    let hi = this.boundaries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.boundaries[mid]! <= target) lo = mid;
      else hi = mid - 1;
    }
    return this.boundaries[lo]!;
  }

  /**
   * Append encoded frames; resolves with the offset of the first once durable. Appends made in this process
   * while a flush is under way are written together by the next one: one lock, one write, one fdatasync.
   */
  append(frames: Uint8Array): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ frames, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        let frames = batch[0]!.frames;
        if (batch.length > 1) {
          frames = new Uint8Array(batch.reduce((n, b) => n + b.frames.length, 0));
          let at = 0;
          for (const b of batch) {
            frames.set(b.frames, at);
            at += b.frames.length;
          }
        }
        try {
          let offset = await this.appendLocked(frames);
          for (const b of batch) {
            b.resolve(offset);
            offset += b.frames.length;
          }
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.flushing = false;
      this.lingerLock();
    }
  }

  /** Give the kept lock up after LOCK_LINGER_MS unless another append comes first. */
  private lingerLock(): void {
    if (!this.lock) return;
    if (this.lockTimer) clearTimeout(this.lockTimer);
    this.lockTimer = setTimeout(() => {
      this.lockTimer = null;
      if (!this.flushing) void this.dropLock();
    }, LOCK_LINGER_MS);
    this.lockTimer.unref();
  }

  private async dropLock(): Promise<void> {
    if (this.lockTimer) clearTimeout(this.lockTimer);
    this.lockTimer = null;
    const lock = this.lock;
    this.lock = null;
    await lock?.release().catch((err) =>
      this.options.logger.warn("Releasing a local-log append lock failed; it will be taken for stale.", {
        file: this.lockPath,
        err,
      }),
    );
  }

  /** Position after the last valid frame (the high watermark). */
  async high(): Promise<number> {
    return (await this.range()).high;
  }

  /** The high watermark and the start of the last valid frame (-1 when there is none). */
  async range(): Promise<{ high: number; last: number }> {
    if (!this.readHandle) {
      this.readOpening ??= this.openRead().finally(() => {
        this.readOpening = null;
      });
      const opened = await this.readOpening;
      if (!opened) return { high: 0, last: -1 };
      this.readHandle ??= opened;
    }
    const size = (await this.readHandle.stat()).size;
    if (size === this.knownEnd && (this.knownLast >= 0 || size === 0)) return { high: size, last: this.knownLast };
    // Without a known last frame, walk from the last boundary remembered at or below the known end.
    const from = this.knownEnd <= size ? (this.knownLast >= 0 ? this.knownEnd : this.hint(this.knownEnd)) : 0;
    const walked = await validEnd(this.readHandle, from, this.checkedSpan);
    this.noteChecked(from, walked.end);
    const last = walked.last >= 0 ? walked.last : from === this.knownEnd ? this.knownLast : -1;
    if (walked.end <= size && walked.end >= this.knownEnd) {
      this.knownEnd = walked.end;
      this.knownLast = last;
    }
    return { high: walked.end, last };
  }

  /** Open for reading; null while the partition has no file yet. */
  async openRead(): Promise<FileHandle | null> {
    try {
      return await open(this.file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  /** Close the handles kept open and give the lock up (the log stays usable: they are taken again when needed). */
  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
    await this.dropLock();
    // A read handle being opened now is closed with the rest, not kept past the close.
    await this.readOpening?.catch(() => null);
    const handles = [this.writeHandle, this.readHandle];
    this.writeHandle = null;
    this.readHandle = null;
    await Promise.allSettled(handles.map((h) => h?.close()));
  }

  private async openWrite(): Promise<FileHandle> {
    if (!this.writeHandle) {
      // "a+" creates the file; positioned writes need "r+" (Linux ignores the position under O_APPEND).
      await (await open(this.file, "a+")).close();
      this.writeHandle = await open(this.file, "r+");
    }
    return this.writeHandle;
  }

  private async appendLocked(frames: Uint8Array): Promise<number> {
    if (this.lockTimer) clearTimeout(this.lockTimer);
    this.lockTimer = null;
    if (this.lock && Date.now() - this.lockTakenAt > LOCK_HOLD_MS) await this.dropLock();
    if (!this.lock) {
      this.lock = await acquireLock(this.lockPath, {
        staleMs: this.options.lockStaleMs,
        timeoutMs: this.options.lockTimeoutMs,
      });
      this.lockTakenAt = Date.now();
    }
    const lock = this.lock;
    let ok = false;
    try {
      const handle = await this.openWrite();
      try {
        const size = (await handle.stat()).size;
        const start = this.knownEnd <= size ? this.knownEnd : 0;
        const { end } = await validEnd(handle, start, this.checkedSpan);
        this.noteChecked(start, end);
        if (end < size) {
          await handle.truncate(end);
          this.options.onTornTail?.(size - end);
          this.options.logger.warn("Cut a torn tail off a partition of the local log (a writer died mid-write).", {
            file: this.file,
            bytes: size - end,
          });
        }
        // A holder stalled past the stale limit may have lost the lock: never write over another writer. Before
        // that limit nobody may break it (our pid is alive), so the file need not be read back on every append.
        const mayBeBroken = Date.now() - this.lockTakenAt > this.options.lockStaleMs / 2;
        if (mayBeBroken && !(await lock.stillHeld())) {
          throw new LogbenchError("CONFLICT", `appending to ${this.file}: the append lock was taken over`);
        }
        let written = 0;
        while (written < frames.length) {
          const { bytesWritten } = await handle.write(frames, written, frames.length - written, end + written);
          written += bytesWritten;
        }
        if (this.options.fsync) await handle.datasync();
        this.noteChecked(end, end + frames.length);
        this.knownEnd = end + frames.length;
        this.knownLast = end + lastFrameStart(frames);
        ok = true;
        return end;
      } catch (err) {
        // Start the next append from a fresh handle rather than one in an unknown state.
        this.writeHandle = null;
        await handle.close().catch(() => {});
        throw err;
      }
    } finally {
      // After a failure, give the lock up now (it may be ours no longer); after a success, keep it a moment.
      if (!ok) await this.dropLock();
    }
  }
}
