/**
 * Mirror an archive prefix into a local cache folder, so DuckDB (which reads local files) can query an
 * HDFS archive. Copies only new or changed files (length or modification time differs), deletes
 * local files that are gone remotely, and skips what Hive-style readers skip: names starting with
 * "_" or "." and in-progress "*.tmp" files. A local store needs no copy: use `localRootOf`.
 */
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir, stat, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isLogbenchError, wrapError } from "./errors.ts";
import type { ArchiveStore, FileStatus } from "./types.ts";

export interface SyncResult {
  /** Files mirrored (matching the filter) on the remote side. */
  files: number;
  /** Their total size. */
  bytes: number;
  /** Files copied in this run (new or changed). */
  copied: number;
}

const COPY_CONCURRENCY = 4;

/** The folder of a local store (whose files DuckDB can read in place), or null for a remote one. */
export function localRootOf(store: ArchiveStore): string | null {
  const dir = (store as { localDir?: unknown }).localDir;
  return store.kind === "local" && typeof dir === "string" ? dir : null;
}

export function isHiddenArchiveName(name: string): boolean {
  return name.startsWith("_") || name.startsWith(".") || name.endsWith(".tmp");
}

export async function syncArchive(
  store: ArchiveStore,
  prefix: string,
  localDir: string,
  opts: { suffix?: string } = {},
): Promise<SyncResult> {
  const base = prefix.replace(/^\/+|\/+$/g, "");
  const remote = new Map<string, FileStatus>();
  try {
    await walk(store, base, remote, opts.suffix);
  } catch (err) {
    throw wrapError(`syncing ${store.root}/${base} to ${localDir}`, err);
  }
  await mkdir(localDir, { recursive: true });

  const todo: Array<[string, FileStatus]> = [];
  for (const [rel, st] of remote) {
    const local = await statOrNull(join(localDir, ...rel.split("/")));
    if (!local || local.size !== st.length || Math.round(local.mtimeMs) !== st.modificationTime) todo.push([rel, st]);
  }
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const [rel, st] = todo[next++]!;
      await copyOne(store, base, rel, st, localDir);
    }
  };
  await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, todo.length) }, worker));
  await prune(localDir, "", new Set(remote.keys()));

  let bytes = 0;
  for (const st of remote.values()) bytes += st.length;
  return { files: remote.size, bytes, copied: todo.length };
}

/** Collects files under `dir` keyed by their path relative to the sync prefix. */
async function walk(store: ArchiveStore, base: string, out: Map<string, FileStatus>, suffix?: string): Promise<void> {
  const pending = [base];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries: FileStatus[];
    try {
      entries = await store.list(dir);
    } catch (err) {
      // A prefix that does not exist yet is an empty archive; a folder removed mid-walk is gone.
      if (isLogbenchError(err, "NOT_FOUND")) continue;
      throw err;
    }
    for (const entry of entries) {
      if (isHiddenArchiveName(entry.name)) continue;
      if (entry.type === "DIRECTORY") pending.push(entry.path);
      else if (!suffix || entry.name.endsWith(suffix)) {
        out.set(base ? entry.path.slice(base.length + 1) : entry.path, entry);
      }
    }
  }
}

async function copyOne(store: ArchiveStore, base: string, rel: string, st: FileStatus, localDir: string) {
  const target = join(localDir, ...rel.split("/"));
  const temp = join(dirname(target), `.sync-${randomBytes(6).toString("hex")}.tmp`);
  try {
    const data = await store.open(base ? `${base}/${rel}` : rel);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(temp, data);
    // Keep the remote mtime (read back rounded: utimes goes through float seconds), which is how the
    // next run knows the copy is current.
    await utimes(temp, new Date(), new Date(st.modificationTime));
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw wrapError(`copying ${store.root}/${base ? `${base}/` : ""}${rel} to ${target}`, err);
  }
}

/** Deletes local files not in `keep` and folders left empty; returns whether `rel` ended up empty. */
async function prune(localDir: string, rel: string, keep: Set<string>): Promise<boolean> {
  const dir = rel ? join(localDir, ...rel.split("/")) : localDir;
  const entries = await readdir(dir, { withFileTypes: true });
  let remaining = entries.length;
  for (const entry of entries) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    const child = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (await prune(localDir, childRel, keep)) {
        await rmdir(child);
        remaining--;
      }
    } else if (!keep.has(childRel)) {
      await rm(child, { force: true });
      remaining--;
    }
  }
  return remaining === 0;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}
