/**
 * ArchiveStore on a local folder (the embedded default's archive). Same contract as the WebHDFS
 * store (test/contracts/archive-store.ts): a file is written under a hidden temporary name, fsynced
 * and renamed into place, so a reader (or a kill -9) never leaves a partial file under a real name.
 * A create or rename with `durable: false` skips its fsyncs; `sync(paths)` does them afterwards for many files
 * at once, the archive's rolls write dozens of small files before one commit point.
 */
import { randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Context } from "../context.ts";
import { type ErrorCode, LogbenchError } from "../errors.ts";
import type { ArchiveStore, FileStatus } from "../types.ts";
import type { LocalArchiveConfig } from "./config.ts";

/** The local store also says where it lives, so readers (DuckDB) can use the folder directly. */
export interface LocalArchiveStore extends ArchiveStore {
  readonly kind: "local";
  /** Absolute folder of the archive root. */
  readonly localDir: string;
}

export function createLocalArchive(config: LocalArchiveConfig, _ctx: Context): LocalArchiveStore {
  const dir = resolve(config.dir);
  const local = (rel: string) => {
    const clean = relativePath(rel);
    return clean ? join(dir, ...clean.split("/")) : dir;
  };
  const toStatus = (rel: string, st: Stats): FileStatus => ({
    path: rel,
    name: rel.slice(rel.lastIndexOf("/") + 1),
    type: st.isDirectory() ? "DIRECTORY" : "FILE",
    length: st.isDirectory() ? 0 : st.size,
    modificationTime: Math.floor(st.mtimeMs),
  });

  return {
    kind: "local",
    root: dir,
    localDir: dir,

    async create(path, data, options = {}) {
      const target = local(path);
      const doing = `creating ${target}`;
      const durable = options.durable ?? true;
      const temp = join(dirname(target), `.${randomBytes(6).toString("hex")}.tmp`);
      // No status check first: the rename or link below refuses a folder or (without overwrite) a file there.
      try {
        try {
          await writeFileOnce(temp, data, durable);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
          // The folder is not there yet (the first file of an hour): make it, then write.
          await ensureDir(dirname(target), doing);
          await writeFileOnce(temp, data, durable);
        }
        if (options.overwrite) await rename(temp, target);
        else await publishExclusive(temp, target);
        if (durable) await syncDir(dirname(target));
      } catch (err) {
        await unlink(temp).catch(() => {});
        const code = (err as NodeJS.ErrnoException).code;
        if (
          code === "EISDIR" ||
          code === "ENOTEMPTY" ||
          (code === "EEXIST" && (await statOrNull(target))?.isDirectory())
        )
          throw new LogbenchError("ALREADY_EXISTS", `${doing}: a directory is there`, { cause: err });
        if (code === "EEXIST") throw new LogbenchError("ALREADY_EXISTS", `${doing}: the file exists`, { cause: err });
        throw fsError(doing, err);
      }
    },

    async append(path, data) {
      const target = local(path);
      try {
        // No O_CREAT: appending to a missing file is NOT_FOUND, as in HDFS.
        const fh = await open(target, constants.O_WRONLY | constants.O_APPEND);
        try {
          await fh.write(data);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw fsError(`appending to ${target}`, err);
      }
    },

    async open(path) {
      const target = local(path);
      try {
        return new Uint8Array(await readFile(target));
      } catch (err) {
        // HDFS answers FileNotFoundException ("Path is not a file") for a directory.
        if ((err as NodeJS.ErrnoException).code === "EISDIR") {
          throw new LogbenchError("NOT_FOUND", `reading ${target}: not a file`, { cause: err });
        }
        throw fsError(`reading ${target}`, err);
      }
    },

    async rename(from, to, options = {}) {
      const src = local(from);
      const dst = local(to);
      const doing = `renaming ${src} to ${dst}`;
      // Both at once: a rename per archive file, and these waits are most of its time.
      const [there, taken] = await Promise.all([statOrNull(src), statOrNull(dst)]);
      if (!there) return false;
      if (taken) throw new LogbenchError("ALREADY_EXISTS", `${doing}: ${dst} exists`);
      if (`${dst}/`.startsWith(`${src}/`))
        throw new LogbenchError("BAD_REQUEST", `${doing}: destination inside source`);
      await ensureDir(dirname(dst), doing);
      try {
        await rename(src, dst);
        if (options.durable ?? true) await syncDir(dirname(dst));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && !(await statOrNull(src))) return false;
        throw fsError(doing, err);
      }
    },

    async sync(paths) {
      // Every file first, then each folder once: after the first fsync has flushed the journal, the others find
      // little or nothing left to write.
      // The first alone (it pays for the flush), the rest a few at once: all of them wait for the same flush.
      const files = [...new Set(paths)].map((p) => local(p));
      const dirs = [...new Set(files.map((f) => dirname(f)))];
      await eachFew(files, syncFile);
      await eachFew(dirs, syncDir);
    },

    async list(path) {
      const rel = relativePath(path);
      const target = local(rel);
      try {
        const names = (await readdir(target)).sort();
        const out: FileStatus[] = [];
        for (const name of names) {
          const st = await statOrNull(join(target, name));
          if (st) out.push(toStatus(rel ? `${rel}/${name}` : name, st));
        }
        return out;
      } catch (err) {
        throw fsError(`listing ${target}`, err);
      }
    },

    async status(path) {
      const rel = relativePath(path);
      const st = await statOrNull(local(rel));
      return st ? toStatus(rel, st) : null;
    },

    async mkdirs(path) {
      const target = local(path);
      await ensureDir(target, `creating directory ${target}`);
    },

    async delete(path, options = {}) {
      const rel = relativePath(path);
      const target = local(rel);
      const doing = `deleting ${target}`;
      if (!rel) throw new LogbenchError("BAD_REQUEST", `${doing}: refusing to delete the archive root`);
      const st = await statOrNull(target);
      if (!st) return false;
      try {
        if (!st.isDirectory()) await unlink(target);
        else if (options.recursive) await rm(target, { recursive: true, force: true });
        else await rmdir(target);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw fsError(doing, err);
      }
    },

    async close() {},
  };
}

/** mkdir -p, with HDFS's answers: the path itself a file → ALREADY_EXISTS, a file above it → BAD_REQUEST. */
async function ensureDir(dir: string, doing: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTDIR") throw fsError(doing, err);
    const st = await statOrNull(dir);
    if (st?.isDirectory()) return;
    if (st) throw new LogbenchError("ALREADY_EXISTS", `${doing}: ${dir} is a file`, { cause: err });
    throw new LogbenchError("BAD_REQUEST", `${doing}: a parent of ${dir} is not a directory`, { cause: err });
  }
}

/** Publish a finished temp file under a name that must not exist yet: link(2) fails atomically if it does. */
async function publishExclusive(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target);
    await unlink(temp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // File systems without hard links: check, then rename (a race window a single writer does not hit).
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
    if (await statOrNull(target)) throw Object.assign(new Error("the file exists"), { code: "EEXIST" });
    await rename(temp, target);
  }
}

async function writeFileOnce(file: string, data: Uint8Array, durable: boolean): Promise<void> {
  const fh = await open(file, "wx");
  try {
    await fh.write(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a file or folder that may be gone (renamed or deleted since): then there is nothing of it to sync. */
async function syncFile(file: string): Promise<void> {
  const handle = await openOrNull(file, "r"); // read-only: a folder opens too (a rename changed its entries)
  if (!handle) return;
  try {
    await handle.sync();
    return;
  } catch (err) {
    // Windows flushes only a handle open for writing (and no folder at all: its renames are atomic anyway).
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "EBADF" && code !== "EACCES") throw fsError(`syncing ${file}`, err);
  } finally {
    await handle.close();
  }
  const writable = await openOrNull(file, "r+").catch(() => null);
  if (!writable) return;
  try {
    await writable.sync();
  } finally {
    await writable.close();
  }
}

async function openOrNull(file: string, flags: string): Promise<FileHandle | null> {
  try {
    return await open(file, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw fsError(`syncing ${file}`, err);
  }
}

/** `fn` on each item: the first alone, then up to four at a time. */
async function eachFew<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length === 0) return;
  await fn(items[0]!);
  for (let i = 1; i < items.length; i += 4) await Promise.all(items.slice(i, i + 4).map(fn));
}

/** fsync a directory so a rename in it survives a crash (best effort: not every platform allows it). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows cannot open a directory for fsync; the rename is still atomic there.
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    const st = await lstat(path);
    return st.isSymbolicLink() ? await stat(path) : st;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw fsError(`reading the status of ${path}`, err);
  }
}

const FS_CODES: Record<string, ErrorCode> = {
  ENOENT: "NOT_FOUND",
  EEXIST: "ALREADY_EXISTS",
  EISDIR: "ALREADY_EXISTS",
  ENOTDIR: "BAD_REQUEST",
  ENOTEMPTY: "BAD_REQUEST",
  EACCES: "PERMISSION",
  EPERM: "PERMISSION",
  EROFS: "PERMISSION",
  EBUSY: "UNAVAILABLE",
  EAGAIN: "UNAVAILABLE",
  EMFILE: "UNAVAILABLE",
};

function fsError(doing: string, err: unknown): LogbenchError {
  if (err instanceof LogbenchError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = FS_CODES[e.code ?? ""] ?? "INTERNAL";
  return new LogbenchError(code, `${doing}: ${e.code ?? ""} ${e.message ?? String(err)}`.replace(/ {2,}/g, " "), {
    cause: err,
  });
}

function relativePath(path: string): string {
  if (path.startsWith("/")) throw new LogbenchError("BAD_REQUEST", `archive paths are relative, got "${path}"`);
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === ".." || p.includes("\\") || p.includes("\0"))) {
    throw new LogbenchError("BAD_REQUEST", `archive paths may not contain "." or ".." segments, got "${path}"`);
  }
  return parts.join("/");
}
