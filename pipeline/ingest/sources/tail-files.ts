/**
 * How the tail source knows a file: device + inode (what an open handle keeps through a rename or a delete) and a
 * fingerprint of its first bytes (what tells a new file that reuses an inode, a file truncated and rewritten in
 * place, and the copy `copytruncate` leaves beside a log). And how it finds a file again after a restart: at its
 * saved path, else under another name in the same folder (rename rotation), else as a copy holding the same first
 * bytes and at least as many bytes as were read (copytruncate).
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FilePosition } from "../positions.ts";

/** Bytes hashed from the start of a file (as Filebeat's fingerprint does); fewer while the file is shorter. */
export const FINGERPRINT_BYTES = 1024;

export interface Fingerprint {
  bytes: number;
  sha256: string;
}

/** Position key of a file: its identity on this machine. */
export function fileKey(st: { dev: number; ino: number }): string {
  return `${st.dev}:${st.ino}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function head(fh: FileHandle, size: number): Promise<Buffer> {
  const want = Math.min(size, FINGERPRINT_BYTES);
  const buf = Buffer.alloc(want);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Both files start with the same bytes, over what the shorter one has of its first FINGERPRINT_BYTES (not none). */
export async function sameStart(a: FileHandle, b: FileHandle): Promise<boolean> {
  const [x, y] = await Promise.all([head(a, Number.MAX_SAFE_INTEGER), head(b, Number.MAX_SAFE_INTEGER)]);
  const n = Math.min(x.length, y.length);
  return n > 0 && x.subarray(0, n).equals(y.subarray(0, n));
}

export async function fingerprint(fh: FileHandle, size: number): Promise<Fingerprint> {
  const bytes = await head(fh, size);
  return { bytes: bytes.length, sha256: sha256(bytes) };
}

/**
 * Whether the file still starts with the bytes `fp` was taken from, and the fingerprint over more of them when
 * the file has grown since (a fingerprint starts short on a young file and grows up to FINGERPRINT_BYTES).
 */
export async function recheck(fh: FileHandle, fp: Fingerprint, size: number): Promise<Fingerprint | null> {
  if (size < fp.bytes) return null;
  if (fp.bytes === FINGERPRINT_BYTES) {
    return sha256(await head(fh, fp.bytes)) === fp.sha256 ? fp : null;
  }
  const bytes = await head(fh, size);
  if (bytes.length < fp.bytes || sha256(bytes.subarray(0, fp.bytes)) !== fp.sha256) return null;
  return bytes.length === fp.bytes ? fp : { bytes: bytes.length, sha256: sha256(bytes) };
}

/** An open file and what it was when opened; null when it is not a regular file (or vanished). */
export async function openFile(path: string): Promise<{ fh: FileHandle; st: Stats } | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    return null;
  }
  return { fh, st };
}

export interface Located {
  path: string;
  fh: FileHandle;
  st: Stats;
  /** A copy of the saved file (another inode with its first bytes): copytruncate's copy. */
  copy: boolean;
  /** For a copy: why the saved file itself (its inode) was not taken, for the log. */
  because?: string;
}

/**
 * The saved file, looked for at its saved path, then by identity elsewhere in its folder, then as a copy. Files
 * whose key is in `claimed` are taken by another position already.
 */
export async function locate(pos: FilePosition, claimed: ReadonlySet<string>): Promise<Located | null> {
  const saved = pos.path!;
  const fp = pos.fingerprint!;
  let names: string[] = [];
  try {
    names = await readdir(dirname(saved));
  } catch {
    return null;
  }
  const candidates = [saved, ...names.map((n) => join(dirname(saved), n)).filter((p) => p !== saved)];
  const own = (st: Stats) => st.dev === pos.dev && st.ino === pos.ino;
  let because = "no file in its folder has its inode now (deleted, or moved out of the folder)";
  const stats = new Map<string, Stats>();
  for (const path of candidates) {
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) continue;
    if (claimed.has(fileKey(st))) {
      if (own(st)) because = `${path}, its inode, is taken by another saved position`;
    } else if (st.size < pos.offset) {
      if (own(st))
        because = `${path}, its inode, holds ${st.size} bytes, fewer than the ${pos.offset} read (truncated)`;
    } else stats.set(path, st);
  }
  const sameInode = [...stats].filter(([, st]) => own(st));
  const others = fp.bytes > 0 ? [...stats].filter(([, st]) => !own(st)) : [];
  for (const [path, st] of [...sameInode, ...others]) {
    const found = await openFile(path);
    if (!found) continue;
    if (fileKey(found.st) === fileKey(st) && (await recheck(found.fh, fp, found.st.size)) !== null) {
      const copy = fileKey(st) !== fileKey(pos);
      return { path, fh: found.fh, st: found.st, copy, ...(copy ? { because } : {}) };
    }
    if (own(st)) {
      because = `${path}, its inode, no longer starts with the ${fp.bytes} bytes it started with (truncated and written again, or another file on a reused inode)`;
    }
    await found.fh.close();
  }
  return null;
}

/** The name a file (by key) has now in `dir`, if it is still there. */
export async function nameIn(dir: string, key: string): Promise<string | null> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const st = await stat(join(dir, name)).catch(() => null);
    if (st && fileKey(st) === key) return join(dir, name);
  }
  return null;
}

/** Offset just after the last newline before `size` (0 when there is none): where following from the end starts. */
export async function lastLineEnd(fh: FileHandle, size: number): Promise<number> {
  const step = 65_536;
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - step);
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return 0;
}

/** Thrown by readRange when the file no longer starts with its first bytes: it was truncated while being read. */
export class FileChanged extends Error {}

/**
 * The bytes of [from, to) in chunks (a fresh buffer each, since lines may point into a chunk). Each chunk is
 * given out only once `unchanged()` says the file was not truncated after it was read: bytes read from a
 * truncated and regrown file at the old offsets would be parts of other lines.
 */
export async function* readRange(
  fh: FileHandle,
  from: number,
  to: number,
  unchanged: () => Promise<boolean>,
): AsyncGenerator<Uint8Array> {
  let at = from;
  while (at < to) {
    const buf = Buffer.allocUnsafe(Math.min(65_536, to - at));
    const { bytesRead } = await fh.read(buf, 0, buf.length, at);
    if (bytesRead === 0 || !(await unchanged())) throw new FileChanged("the file changed while it was read");
    at += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}
