/**
 * What a restarted archiver trusts: the archive itself. For one partition, delete the temporary log entries
 * (the fence against a previous owner's roll still in flight, ownership.ts: it must come before the log is read),
 * finish the renames of the newest write-ahead-log entry, delete temporary files no entry will ever rename, and
 * return the offset to resume from. Without a log (an archive written by another tool, or a log someone removed),
 * the highest offset in the partition's file names is used.
 */
import type { Logger } from "../../connectors/context.ts";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore, FileStatus } from "../../connectors/types.ts";
import {
  isWalTmpName,
  parseDayDir,
  parseFinalName,
  parsePartName,
  parseWalEntryName,
  tmpDir,
  walDir,
} from "./layout.ts";

interface WalEntry {
  partition: number;
  first: number;
  last: number;
  files: Array<{ tmp: string; final: string }>;
}

export async function recoverPartition(
  store: ArchiveStore,
  topic: string,
  partition: number,
  logger: Logger,
): Promise<number> {
  // A delete that finds nothing lost the race to the entry's rename: then the listing below has the entry.
  for (const f of await listOrEmpty(store, walDir(topic, partition))) {
    if (isWalTmpName(f.name)) await store.delete(f.path);
  }
  const wal = await listOrEmpty(store, walDir(topic, partition));
  const entries = wal
    .map((f) => ({ path: f.path, last: parseWalEntryName(f.name) }))
    .filter((f): f is { path: string; last: number } => f.last !== null)
    .sort((a, b) => b.last - a.last);
  let resume = 0;
  const newest = entries[0];
  if (newest) {
    const entry = JSON.parse(new TextDecoder().decode(await store.open(newest.path))) as WalEntry;
    for (const f of entry.files) {
      if (await store.status(f.final)) continue;
      // The entry's own writer may be renaming the same files right now (it committed just before the fence).
      if (await renamedOrThere(store, f.tmp, f.final)) continue;
      logger.error("An archive file listed in the archive log is missing; its records are lost from the archive.", {
        file: f.final,
      });
    }
    resume = entry.last + 1;
  } else {
    resume = (await highestArchivedOffset(store, topic, partition)) + 1;
  }
  // Temporary files of this partition that no committed entry renamed are from an interrupted roll.
  for (const f of await listOrEmpty(store, tmpDir(topic))) {
    const part = parsePartName(f.name);
    if (part && part.partition === partition) await store.delete(f.path);
  }
  if (resume > 0) logger.info("Archive resumes after what it already holds.", { topic, partition, offset: resume });
  return resume;
}

/** Highest last offset in the partition's archive file names, -1 when there is none. */
export async function highestArchivedOffset(store: ArchiveStore, topic: string, partition: number): Promise<number> {
  let highest = -1;
  for (const day of await listOrEmpty(store, topic)) {
    if (day.type !== "DIRECTORY" || parseDayDir(day.name) === null) continue;
    for (const hour of await listOrEmpty(store, day.path)) {
      if (hour.type !== "DIRECTORY") continue;
      for (const file of await listOrEmpty(store, hour.path)) {
        const part = parseFinalName(file.name);
        if (part && part.partition === partition && part.last > highest) highest = part.last;
      }
    }
  }
  return highest;
}

/** Rename `tmp` to `final`; true when `final` is there afterwards, whoever renamed it. */
async function renamedOrThere(store: ArchiveStore, tmp: string, final: string): Promise<boolean> {
  try {
    if (await store.rename(tmp, final)) return true;
  } catch (err) {
    if (!isLogbenchError(err, "ALREADY_EXISTS")) throw err;
  }
  return (await store.status(final)) !== null;
}

async function listOrEmpty(store: ArchiveStore, path: string): Promise<FileStatus[]> {
  try {
    return await store.list(path);
  } catch (err) {
    if (isLogbenchError(err, "NOT_FOUND")) return [];
    throw err;
  }
}
