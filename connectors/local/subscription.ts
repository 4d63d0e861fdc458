/**
 * A consumer-group member of the local file log.
 *
 * Membership: a group has ONE active member at a time, which gets every partition; it holds
 * groups/<group>/member.lock (pid + token, touched every 2 s). Any other subscription to the group,
 * in this process or another, is a standby with no partitions: it takes over when the active member
 * stops, dies (its pid is gone), or stops touching the lock for MEMBER_STALE_MS. A member that finds
 * its lock taken over revokes everything and becomes a standby; its commits are refused from then on.
 *
 * Reading: one loop per assigned partition polls the file for growth every `pollMs`; the next batch
 * of a partition is read only after onBatch for the previous one resolved.
 */
import { type FileHandle, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { sleepOrAbort } from "../retry.ts";
import { SubscriptionLifecycle } from "../subscription-lifecycle.ts";
import type { BusMessage, SubscribeOptions, Subscription } from "../types.ts";
import { type HeldLock, tryLock } from "./lock-file.ts";
import { locate } from "./partition-log.ts";
import { readCommits, type TopicFiles, writeCommit } from "./topic-store.ts";

const MEMBER_STALE_MS = 10_000;
const TOUCH_MS = 2_000;
const MAX_BATCH_BYTES = 1024 * 1024;

interface Reader {
  partition: number;
  handle: FileHandle | null;
  /** A frame boundary: where the next read starts. */
  position: number;
  /** Records below this offset are skipped (after a seek to a position inside a frame). */
  skipBelow: number;
  pendingSeek: number | null;
}

export async function subscribeLocal(
  topic: TopicFiles,
  group: string,
  groupPath: string,
  options: SubscribeOptions,
  settings: { pollMs: number; fsync: boolean },
  ctx: Context,
): Promise<Subscription> {
  const log = ctx.logger.child({ topic: options.topic, group });
  await mkdir(groupPath, { recursive: true });
  let member: HeldLock | null = null;
  let assigned: number[] = [];
  const revoking = new Set<number>();
  const readers = new Map<number, Reader>();
  let loops: Promise<void>[] = [];
  let generation = 0; // bumped on every revoke: loops of an older generation end
  const lifecycle = new SubscriptionLifecycle(shutdown);
  const fail = (err: unknown) => lifecycle.fail(err);
  // Every pause of the loops ends early on wake() (a seek, a revoke, stop): one controller per round of pauses.
  let wakeup = new AbortController();
  const wake = () => {
    wakeup.abort();
    wakeup = new AbortController();
  };
  const sleep = (ms: number) => sleepOrAbort(ms, wakeup.signal);
  async function readLoop(reader: Reader, gen: number): Promise<void> {
    const file = topic.logs[reader.partition]!;
    const active = () => gen === generation && lifecycle.active;
    while (active()) {
      reader.handle ??= await file.openRead();
      if (!reader.handle) {
        await sleep(settings.pollMs);
        continue;
      }
      if (reader.pendingSeek !== null) {
        const target = reader.pendingSeek;
        reader.pendingSeek = null;
        reader.position = await locate(reader.handle, target, file.hint(target));
        reader.skipBelow = target;
      }
      const chunk = await file.read(reader.handle, reader.position, MAX_BATCH_BYTES, reader.partition);
      file.remember(chunk.next);
      if (chunk.records.length === 0) {
        await sleep(settings.pollMs);
        continue;
      }
      // The records are bus messages already (the read was given the partition).
      const messages: BusMessage[] =
        reader.skipBelow > reader.position ? chunk.records.filter((r) => r.offset >= reader.skipBelow) : chunk.records;
      if (messages.length > 0) {
        try {
          await options.onBatch(reader.partition, messages);
        } catch (err) {
          fail(err);
          return;
        }
      }
      // A seek made during onBatch wins over the position after this batch.
      if (reader.pendingSeek === null) reader.position = chunk.next;
    }
  }

  async function assignAll(): Promise<void> {
    const commits = await readCommits(groupPath);
    const partitions = topic.logs.map((_, p) => p);
    assigned = partitions;
    const gen = generation;
    for (const p of partitions) {
      const committed = commits.get(p);
      // Without a commit, start at a boundary we know: 0 or the current end.
      const start = !committed && options.fromBeginning === false ? await topic.logs[p]!.high() : 0;
      readers.set(p, {
        partition: p,
        handle: null,
        position: start,
        skipBelow: 0,
        pendingSeek: committed?.offset ?? null,
      });
    }
    await options.onAssigned?.(
      partitions.map((partition) => ({ partition, committed: commits.get(partition) ?? null })),
    );
    if (gen !== generation || !lifecycle.active) return;
    loops = partitions.map((p) => readLoop(readers.get(p)!, gen));
  }

  async function revokeAll(): Promise<void> {
    generation++;
    wake();
    await Promise.allSettled(loops);
    loops = [];
    const revoked = assigned;
    assigned = [];
    for (const p of revoked) revoking.add(p);
    try {
      if (revoked.length > 0) await options.onRevoked?.(revoked);
    } finally {
      for (const p of revoked) revoking.delete(p);
      for (const r of readers.values()) await r.handle?.close().catch(() => {});
      readers.clear();
    }
  }

  // Membership: take the lock when free, keep it touched, notice when it was taken over.
  const membership = (async () => {
    await new Promise((r) => setImmediate(r)); // onAssigned may call seek on the returned subscription
    while (lifecycle.active) {
      try {
        if (!member) {
          member = await tryLock(join(groupPath, "member.lock"), MEMBER_STALE_MS);
          if (member) await assignAll();
          else await sleep(settings.pollMs * 3);
        } else {
          await sleep(TOUCH_MS);
          if (!lifecycle.active) break;
          if (await member.stillHeld()) {
            await member.touch();
          } else {
            log.warn("Lost the local consumer group's membership to another member; revoking partitions.");
            member = null;
            await revokeAll();
          }
        }
      } catch (err) {
        fail(err);
      }
    }
  })();

  /** Wake the loops, wait for the membership loop, revoke everything, give the membership up. */
  async function shutdown(): Promise<void> {
    wake();
    await membership;
    let revokeError: { error: unknown } | null = null;
    try {
      await revokeAll();
    } catch (error) {
      revokeError = { error };
    }
    await member?.release().catch(() => {});
    member = null;
    if (revokeError) throw revokeError.error;
  }

  lifecycle.started();
  return {
    async commit(partition, offset, metadata) {
      if (lifecycle.ended || (!assigned.includes(partition) && !revoking.has(partition))) {
        throw new LogbenchError(
          "CONFLICT",
          `committing ${options.topic}/${partition}: partition not assigned to this member`,
          {
            retryable: false,
          },
        );
      }
      if (!member || !(await member.stillHeld())) {
        throw new LogbenchError(
          "CONFLICT",
          `committing ${options.topic}/${partition}: group membership was taken over`,
          {
            retryable: false,
          },
        );
      }
      // Offsets are byte positions, so "last + 1" lies inside the last record: store the next record
      // boundary instead, so a caught-up group's committed offset equals the high watermark (lag 0).
      const reader = readers.get(partition);
      const file = topic.logs[partition];
      const boundary = reader?.handle && file ? await locate(reader.handle, offset, file.hint(offset)) : offset;
      await writeCommit(
        groupPath,
        partition,
        { offset: Math.max(offset, boundary), metadata: metadata ?? null },
        settings.fsync,
      );
    },
    seek(partition, offset) {
      const reader = readers.get(partition);
      if (!reader || !assigned.includes(partition)) {
        throw new LogbenchError(
          "BAD_REQUEST",
          `seeking ${options.topic}/${partition}: partition not assigned to this member`,
        );
      }
      reader.pendingSeek = offset;
      wake();
    },
    assigned: () => [...assigned],
    stop: () => lifecycle.stop(),
    done: lifecycle.done,
  };
}
