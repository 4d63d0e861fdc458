/**
 * Who may commit rolls of a partition, when several daemons share one archive (issue 11 §3).
 *
 * Kafka does not wait for the old owner's onRevoked before the new owner gets the partition, so the old owner's
 * last roll could land after the new owner's recovery read the write-ahead log: the new owner would archive the
 * same offsets again (rows twice). The fence, in the archive itself (HDFS or a shared folder, no lock service):
 *
 *   _logbench/owners/<topic>/<partition>.json   {"member": "<host>:<pid>:<random>", "at": epoch ms}
 *
 * - A roll's commit (commitLogEntry): write the log entry under its temporary name, then read the claim, then
 *   rename the entry into place. A claim naming another member, or a temporary entry that is gone by the rename,
 *   means the partition moved: the roll is abandoned, its records stay uncommitted and the new owner reads them
 *   again from the bus.
 * - On assignment the new owner writes its claim, then recovery (recovery.ts) deletes every temporary log entry
 *   of the partition, and only then reads the log.
 *
 * Each side writes first and reads second, so one of them sees the other, however long either is held up: when the
 * old owner's claim check did not see the new claim, its temporary entry was written before that check, which came
 * before the new claim was complete, which came before recovery looked for temporary entries. Recovery then finds
 * the entry and deletes it — and the old owner's rename fails, because rename and delete of one path are atomic —
 * or the rename won, and recovery, which reads the log only after the deletes, sees the committed entry.
 * This needs an archive whose renames, deletes and listings are atomic and immediately visible to every daemon:
 * HDFS (the NameNode) and a local file system are; an NFS mount is only with attribute and lookup caching off
 * (`actimeo=0,lookupcache=none`).
 */
import { hostname } from "node:os";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore } from "../../connectors/types.ts";

export function ownerPath(topic: string, partition: number): string {
  return `_logbench/owners/${topic}/${partition}.json`;
}

export function newMemberId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
}

/** The member named in a partition's claim, or null when there is none (or it cannot be read as one). */
export async function readOwner(store: ArchiveStore, topic: string, partition: number): Promise<string | null> {
  try {
    const raw = JSON.parse(new TextDecoder().decode(await store.open(ownerPath(topic, partition)))) as {
      member?: unknown;
    };
    return typeof raw.member === "string" ? raw.member : null;
  } catch (err) {
    if (isLogbenchError(err, "NOT_FOUND")) return null;
    if (err instanceof SyntaxError) return null; // a claim cut short: treat as none, the next claim replaces it
    throw err;
  }
}

/** Write this member's claim on the partition (before its recovery, see above). */
export async function claim(store: ArchiveStore, topic: string, partition: number, member: string): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify({ member, at: Date.now() }));
  await store.create(ownerPath(topic, partition), body, { overwrite: true });
}

/**
 * A roll's commit point: the log entry `body` written at `tmp`, the claim read, `tmp` renamed to `final`. True when
 * the entry is in place (also when an earlier attempt's answer was lost after its rename ran), false when the
 * partition moved to another member and the roll must be abandoned. Safe to retry as a whole.
 */
export async function commitLogEntry(
  store: ArchiveStore,
  at: { topic: string; partition: number; member: string },
  tmp: string,
  final: string,
  body: Uint8Array,
): Promise<boolean> {
  await store.create(tmp, body, { overwrite: true });
  const owner = await readOwner(store, at.topic, at.partition);
  if (owner !== null && owner !== at.member) return false;
  try {
    if (await store.rename(tmp, final)) return true;
  } catch (err) {
    if (!isLogbenchError(err, "ALREADY_EXISTS")) throw err;
  }
  // Not renamed now: our entry is in place from an attempt whose answer was lost, or the new owner's recovery
  // deleted the temporary entry (or committed one of its own under the same name): the partition moved.
  const there = await store.open(final).catch((err: unknown) => {
    if (isLogbenchError(err, "NOT_FOUND")) return null;
    throw err;
  });
  if (there === null || !sameBytes(there, body)) return false;
  await store.delete(tmp).catch(() => false);
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
