/**
 * Who may commit rolls of a partition, when several daemons share one archive (issue 11 §3).
 *
 * Kafka does not wait for the old owner's onRevoked before the new owner gets the partition, so the old owner's
 * last roll could land after the new owner's recovery read the write-ahead log: the new owner would archive the
 * same offsets again (rows twice). The fence, in the archive itself (HDFS or a shared folder, no lock service):
 *
 *   _logbench/owners/<topic>/<partition>.json   {"member": "<host>:<pid>:<random>", "at": epoch ms}
 *
 * - On assignment the new owner writes its claim, then waits HANDOFF_GRACE_MS when another member held the
 *   claim before it, and only then recovers.
 * - Before each roll's commit point (the log entry's rename) the writer reads the claim; a claim naming another
 *   member means the partition moved: the roll is abandoned, its records stay uncommitted and the new owner
 *   reads them again from the bus.
 * A roll that read its own claim just before the new owner wrote its claim finishes its rename within the grace,
 * so the new owner's recovery sees it. What is left is a rename held up longer than the grace.
 */
import { hostname } from "node:os";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore } from "../../connectors/types.ts";

/** Time a claim gives the previous owner's commit in flight to land before recovery reads the log. */
export const HANDOFF_GRACE_MS = 2_000;

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

/** Write this member's claim; true when another member held the partition before (a fresh archive has none). */
export async function claim(store: ArchiveStore, topic: string, partition: number, member: string): Promise<boolean> {
  const before = await readOwner(store, topic, partition);
  const body = new TextEncoder().encode(JSON.stringify({ member, at: Date.now() }));
  await store.create(ownerPath(topic, partition), body, { overwrite: true });
  return before !== null && before !== member;
}
