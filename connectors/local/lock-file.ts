/**
 * Cross-process lock files for the local file log: created with O_CREAT|O_EXCL ("wx"), holding the
 * owner's pid and a random token. A lock is stale when its pid is gone (kill -9) or when its file
 * was not touched for `staleMs` (a pid reused by another program, a holder that hangs). Breaking a
 * stale lock goes through a second O_EXCL file so that two breakers cannot both win, and re-checks
 * the token under it, so a fresh lock taken meanwhile is never removed.
 *
 * pid checks assume one machine and one pid namespace, which is what a local log is for.
 */
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { LogbenchError } from "../errors.ts";
import { withRetry } from "../retry.ts";

export interface HeldLock {
  readonly path: string;
  readonly token: string;
  /** Refresh the lock's mtime so it is not taken for stale. */
  touch(): Promise<void>;
  /** Whether the file still carries our token (false once someone broke it as stale). */
  stillHeld(): Promise<boolean>;
  /** Remove the lock if it is still ours. */
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  token: string;
  at: number;
}

/** true / false when known; null when this runtime may not look (e.g. Deno without --allow-run). */
export function pidAlive(pid: number): boolean | null {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
  }
  try {
    statSync(`/proc/${pid}`);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? false : null;
  }
}

async function readLock(path: string): Promise<{ content: LockContent | null; mtimeMs: number } | null> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    let content: LockContent | null = null;
    try {
      content = JSON.parse(text) as LockContent;
    } catch {
      content = null; // the creator died between creating and writing it
    }
    return { content, mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function isStale(lock: { content: LockContent | null; mtimeMs: number }, staleMs: number): boolean {
  const age = Date.now() - lock.mtimeMs;
  if (!lock.content) return age > 2_000;
  if (pidAlive(lock.content.pid) === false) return true;
  return age > staleMs;
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

async function unlinkQuiet(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

/** Remove `path` if it is (still) the stale lock we saw. */
async function breakStale(path: string, seen: LockContent | null, staleMs: number): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await createExclusive(breaker, String(process.pid)))) {
    const other = await stat(breaker).catch(() => null);
    // A breaker that died mid-break leaves its file behind; breaking takes microseconds.
    if (other && Date.now() - other.mtimeMs > 5_000) await unlinkQuiet(breaker);
    return;
  }
  try {
    const now = await readLock(path);
    if (now && now.content?.token === seen?.token && isStale(now, staleMs)) await unlinkQuiet(path);
  } finally {
    await unlinkQuiet(breaker);
  }
}

/** One attempt: the lock, or null when a live owner holds it. */
export async function tryLock(path: string, staleMs: number): Promise<HeldLock | null> {
  const token = randomUUID();
  const content: LockContent = { pid: process.pid, token, at: Date.now() };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await createExclusive(path, JSON.stringify(content))) return held(path, token);
    const current = await readLock(path);
    if (current === null) continue; // released meanwhile
    if (!isStale(current, staleMs)) return null;
    await breakStale(path, current.content, staleMs);
  }
  return null;
}

/** Wait for the lock, polling with jitter; TIMEOUT after `timeoutMs`. */
export function acquireLock(path: string, options: { staleMs: number; timeoutMs: number }): Promise<HeldLock> {
  const deadline = Date.now() + options.timeoutMs;
  const busy = new Error("lock held"); // never leaves this function: it only asks for another poll
  return withRetry(
    async () => {
      const lock = await tryLock(path, options.staleMs);
      if (lock) return lock;
      if (Date.now() > deadline) {
        throw new LogbenchError(
          "TIMEOUT",
          `taking the lock ${path}: held by another writer for ${options.timeoutMs} ms`,
        );
      }
      throw busy;
    },
    // An append holds the lock briefly: poll from 1 ms, never slower than 50 ms.
    { backoff: { baseMs: 1, maxMs: 50, jitter: [1, 2] }, shouldRetry: (err) => err === busy },
  );
}

function held(path: string, token: string): HeldLock {
  const mine = async () => (await readLock(path))?.content?.token === token;
  return {
    path,
    token,
    touch: async () => {
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
    },
    stillHeld: mine,
    release: async () => {
      if (await mine()) await unlinkQuiet(path);
    },
  };
}
