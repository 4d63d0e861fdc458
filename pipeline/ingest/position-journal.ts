/**
 * A crash-safe record of one small JSON state, rewritten in place: a preallocated file of 4 KiB slots, each save a
 * checksummed record of the whole state written at the next free slot with one `pwrite` and one `fdatasync`,
 * wrapping to the start at the end of the file. Loading takes the valid record with the highest sequence number,
 * so a save torn by a crash (or garbage anywhere) is ignored and the one before it, already durable, is what
 * counts. No temp file, no rename and no metadata change per save (the file never grows), which is what made the
 * old "write temp, fsync, rename" scheme cost about a fifth of a replay.
 *
 * Record, at a slot boundary (big-endian):
 *
 *   magic u32 "LBPJ" | seq u64 | length u32 | crc32 u32 (of seq, length and payload) | payload (UTF-8 JSON)
 *
 * A record takes as many slots as it needs and starts on its own slot (4 KiB: a page, so that a torn write
 * cannot reach the page of the record before it). The file holds at least four of the largest records, so the
 * next save, even wrapped to slot 0, never overwrites the last durable one; a larger state makes a larger file
 * (written whole under a temp name and renamed into place, as rarely as the state's size doubles).
 */
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { crc32 } from "../../connectors/local/frame.ts";

const MAGIC = 0x4c42504a;
const HEADER_BYTES = 20;
export const SLOT_BYTES = 4096;
/** Slots of a new journal (256 KiB). */
const MIN_SLOTS = 64;

export interface JournalRecord {
  seq: number;
  payload: string;
  /** First slot and number of slots it takes. */
  slot: number;
  slots: number;
}

/** Every valid record in a journal's bytes, in slot order. */
export function scanJournal(bytes: Uint8Array): JournalRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: JournalRecord[] = [];
  for (let at = 0; at + HEADER_BYTES <= bytes.length; at += SLOT_BYTES) {
    if (view.getUint32(at) !== MAGIC) continue;
    const seq = view.getUint32(at + 4) * 2 ** 32 + view.getUint32(at + 8);
    const length = view.getUint32(at + 12);
    const end = at + HEADER_BYTES + length;
    if (end > bytes.length) continue;
    const expected = view.getUint32(at + 16);
    const crc = crc32(Buffer.concat([bytes.subarray(at + 4, at + 16), bytes.subarray(at + HEADER_BYTES, end)]));
    if (crc !== expected) continue;
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset + at + HEADER_BYTES, length).toString("utf8");
    found.push({ seq, payload, slot: at / SLOT_BYTES, slots: slotsFor(length) });
  }
  return found;
}

/** The newest valid record, or null when there is none. */
export function newestRecord(bytes: Uint8Array): JournalRecord | null {
  let best: JournalRecord | null = null;
  for (const r of scanJournal(bytes)) if (!best || r.seq > best.seq) best = r;
  return best;
}

/** Reads a journal file's newest record; null when the file is missing or holds no valid record. */
export function readJournal(file: string): JournalRecord | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  return newestRecord(bytes);
}

/** One record's bytes (header and payload), unpadded. */
export function encodeRecord(seq: number, payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt32BE(Math.floor(seq / 2 ** 32), 4);
  out.writeUInt32BE(seq % 2 ** 32, 8);
  out.writeUInt32BE(body.length, 12);
  body.copy(out, HEADER_BYTES);
  out.writeUInt32BE(crc32(Buffer.concat([out.subarray(4, 16), body])), 16);
  return out;
}

function slotsFor(payloadBytes: number): number {
  return Math.ceil((HEADER_BYTES + payloadBytes) / SLOT_BYTES);
}

/** Appends records to a journal file, opened once and kept open. */
export class JournalWriter {
  private fd: number | null = null;
  private slots = 0;
  private next = 0;
  private seq: number;

  /** `last`: the newest record read from `file` (null: none, the file is created at the first save). */
  constructor(
    private readonly file: string,
    last: JournalRecord | null,
  ) {
    this.seq = last?.seq ?? 0;
    if (!last) return;
    this.fd = openSync(file, "r+");
    this.slots = Math.floor(fstatSync(this.fd).size / SLOT_BYTES);
    this.next = last.slot + last.slots;
  }

  /** Writes `payload` as the next record and makes it durable before returning. */
  write(payload: string): void {
    const record = encodeRecord(++this.seq, payload);
    const needed = Math.ceil(record.length / SLOT_BYTES);
    if (this.fd === null || needed * 4 > this.slots) {
      this.recreate(record, needed);
      return;
    }
    if (this.next + needed > this.slots) this.next = 0;
    writeSync(this.fd, record, 0, record.length, this.next * SLOT_BYTES);
    fdatasyncSync(this.fd);
    this.next += needed;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** A new file large enough for four such records, holding this one, put in place by rename. */
  private recreate(record: Buffer, needed: number): void {
    let slots = MIN_SLOTS;
    while (needed * 4 > slots) slots *= 2;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      const image = Buffer.alloc(slots * SLOT_BYTES);
      record.copy(image, 0);
      writeSync(fd, image, 0, image.length, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    syncDir(dirname(this.file));
    this.close();
    this.fd = openSync(this.file, "r+");
    this.slots = slots;
    this.next = needed;
  }
}

/** Makes a rename in `dir` durable (a no-op where directories cannot be opened, as on Windows). */
function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  } finally {
    closeSync(fd);
  }
}
