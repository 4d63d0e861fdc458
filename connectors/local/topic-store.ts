/**
 * On-disk layout of the local file log:
 *
 *   <dir>/<topic>/topic.json                 {"partitions": N}, created once (link(2) so two processes agree)
 *   <dir>/<topic>/<p>/log                    frames, see frame.ts; offsets are byte positions
 *   <dir>/<topic>/<p>/append.lock            held while appending, see lock-file.ts
 *   <dir>/<topic>/groups/<group>/<p>.commit  {"offset", "metadata"}, replaced atomically (temp + rename)
 *   <dir>/<topic>/groups/<group>/member.lock the group's one active member
 */
import { randomUUID } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { LogbenchError } from "../errors.ts";
import type { CommittedOffset } from "../types.ts";
import { PartitionLog, type PartitionLogOptions } from "./partition-log.ts";

/** Kafka's legal topic characters; group names follow the same rule here since they are folder names. */
const NAME = /^[A-Za-z0-9._-]{1,249}$/;

export function checkName(kind: "topic" | "group", name: string): void {
  if (!NAME.test(name) || name === "." || name === "..") {
    throw new LogbenchError("BAD_REQUEST", `${kind} name "${name}": use 1–249 letters, digits, ".", "_" or "-"`);
  }
}

export interface TopicFiles {
  dir: string;
  partitions: number;
  logs: PartitionLog[];
}

async function writeDurably(path: string, data: string, fsync: boolean): Promise<string> {
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(data);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // some file systems refuse fsync on a directory; the rename is still atomic
  } finally {
    await handle.close();
  }
}

/** Open a topic, creating it with `partitions` when it does not exist yet. */
export async function openTopic(
  root: string,
  topic: string,
  partitions: number,
  options: PartitionLogOptions,
): Promise<TopicFiles> {
  checkName("topic", topic);
  const dir = join(root, topic);
  const meta = join(dir, "topic.json");
  await mkdir(dir, { recursive: true });
  let count: number;
  try {
    count = (JSON.parse(await readFile(meta, "utf8")) as { partitions: number }).partitions;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new LogbenchError("INTERNAL", `reading ${meta}: ${(err as Error).message}`, { cause: err });
    }
    // link() fails when the name exists, so the first process to create the topic decides the count.
    const temp = await writeDurably(meta, JSON.stringify({ partitions }), options.fsync);
    try {
      await link(temp, meta);
      count = partitions;
    } catch (linkErr) {
      if ((linkErr as NodeJS.ErrnoException).code !== "EEXIST") throw linkErr;
      count = (JSON.parse(await readFile(meta, "utf8")) as { partitions: number }).partitions;
    } finally {
      await unlink(temp).catch(() => {});
    }
  }
  if (!Number.isInteger(count) || count < 1) throw new LogbenchError("INTERNAL", `${meta}: bad partition count`);
  if (count !== partitions)
    // A bus folder made before the default became one partition keeps three: say how to get the configured count.
    options.logger.info(
      "The topic keeps the partition count it was made with, not bus.partitions; to remake it, stop the daemon once every group has caught up and delete the topic's folder.",
      { topic, partitions: count, configured: partitions, dir },
    );
  const logs: PartitionLog[] = [];
  for (let p = 0; p < count; p++) {
    const pdir = join(dir, String(p));
    await mkdir(pdir, { recursive: true });
    logs.push(new PartitionLog(join(pdir, "log"), join(pdir, "append.lock"), options));
  }
  return { dir, partitions: count, logs };
}

export function groupDir(topicDir: string, group: string): string {
  checkName("group", group);
  return join(topicDir, "groups", group);
}

export async function readCommits(dir: string): Promise<Map<number, CommittedOffset>> {
  const result = new Map<number, CommittedOffset>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return result;
    throw err;
  }
  for (const name of names) {
    const m = /^(\d+)\.commit$/.exec(name);
    if (!m) continue;
    const c = JSON.parse(await readFile(join(dir, name), "utf8")) as CommittedOffset;
    result.set(Number(m[1]), { offset: c.offset, metadata: c.metadata ?? null });
  }
  return result;
}

export async function writeCommit(dir: string, partition: number, commit: CommittedOffset, fsync: boolean) {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${partition}.commit`);
  const temp = await writeDurably(file, JSON.stringify(commit), fsync);
  await rename(temp, file);
  if (fsync) await syncDir(dir);
}
