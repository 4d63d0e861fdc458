/**
 * DuckDB connections to a database file that several processes share.
 *
 * DuckDB lets one process open a file read-write, or several processes open it read-only, never both
 * (https://duckdb.org/docs/stable/connect/concurrency): the daemon writing the series and `logbench query`
 * or a notebook data loader reading them cannot keep it open together.
 *
 * - `withDuckDb` opens the file, does its work and closes it, and waits (bounded, with backoff) while another
 *   process holds the file. While it waits it leaves a signal file beside the database (`<file>.wanted`).
 * - `holdDuckDb` is for a process that writes often (the daemon's series store): opening and closing per write
 *   cost ~80 % of a write (the close checkpoints, and blocked the event loop). It keeps the file open between
 *   uses and closes it (after a CHECKPOINT off the main thread) when it has been idle for 3 s or when it
 *   sees the signal file: then it waits, at most HANDOVER_MS, for the other process to open the file (the
 *   opener removes the signal) before it opens the file again. Readers still see only committed writes.
 */
import { existsSync, writeFileSync } from "node:fs";
import { mkdir, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { LogbenchError } from "../errors.ts";
import { withRetry } from "../retry.ts";
import { DuckDBInstance } from "./node-api.ts";

export type { DuckDBConnection } from "@duckdb/node-api";

export interface WithDuckDbOptions {
  /** Open with access_mode READ_ONLY (many readers may share the file); the file must exist. */
  readOnly?: boolean;
  /** How long to keep retrying while another process holds a conflicting lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Stops the lock wait early. */
  signal?: AbortSignal;
  /** DuckDB configuration options for the open (threads, memory_limit, …). */
  settings?: Record<string, string>;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const LOCK_CONFLICT = /could not set lock|conflicting lock/i;
const MISSING_FILE = /does not exist|no such file|cannot open database .* in read-only mode/i;

/*
 * File locks (POSIX fcntl) do not exclude two opens from the same process, and DuckDB does not either:
 * two instances on one file in one process would both write. So opens of one file are serialised per
 * process here. This map is the one module-level state on purpose: it mirrors a process-wide resource.
 */
const fileQueues = new Map<string, Promise<unknown>>();

/**
 * Open `file` (or a fresh in-memory database), run `fn` with a connection, and always close both.
 * A read-write open creates the file and its folder. While another process holds a conflicting lock the
 * open is retried with backoff for `lockTimeoutMs`, then fails UNAVAILABLE (retryable). Errors thrown by
 * `fn` come back unchanged.
 */
export async function withDuckDb<T>(
  file: string,
  opts: WithDuckDbOptions,
  fn: (conn: DuckDBConnection) => Promise<T>,
): Promise<T> {
  if (file === ":memory:") return runOn(await DuckDBInstance.create(":memory:"), fn);
  const path = resolve(file);
  // A holder in this process has the file open: a second instance of it here would be a second writer.
  const holder = holders.get(path);
  if (holder?.isOpen) return holder.use(fn);
  return serialised(path, async () => runOn(await openWithRetry(path, opts), fn, !opts.readOnly));
}

/** Runs `task` after every earlier open of `path` in this process has settled. */
async function serialised<T>(path: string, task: () => Promise<T>): Promise<T> {
  const previous = fileQueues.get(path) ?? Promise.resolve();
  const run = previous.then(
    () => undefined,
    () => undefined,
  );
  const job = run.then(task);
  const settled = job.then(
    () => undefined,
    () => undefined,
  );
  fileQueues.set(path, settled);
  try {
    return await job;
  } finally {
    if (fileQueues.get(path) === settled) fileQueues.delete(path);
  }
}

async function runOn<T>(
  instance: DuckDBInstance,
  fn: (conn: DuckDBConnection) => Promise<T>,
  checkpoint = false,
): Promise<T> {
  try {
    const conn = await instance.connect();
    try {
      const result = await fn(conn);
      // closeSync checkpoints on the main thread; CHECKPOINT first does that work on DuckDB's threads.
      if (checkpoint) await conn.run("CHECKPOINT").catch(() => undefined);
      return result;
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** The signal file another process leaves while it waits to open `path`. */
export function wantedPath(path: string): string {
  return `${path}.wanted`;
}

/** How long a holder that gave the file up waits for the process that asked for it to open it. */
const HANDOVER_MS = 1_500;
const HOLD_IDLE_MS = 3_000;
const HOLD_POLL_MS = 100;
const holders = new Map<string, DuckDbHolder>();

export interface HeldDuckDb {
  /** Run `fn` on the held connection (opening the file first when it is not open). One use at a time. */
  use<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Whether the file is open now (a read may then use it; otherwise a read-only open is cheaper). */
  readonly isOpen: boolean;
  /** Bumped on every open: what was read from the file under an older one may be stale. */
  readonly generation: number;
  /** Give the file up for good. */
  close(): Promise<void>;
}

/**
 * Keep `file` open read-write between uses, and hand it over to other processes that ask (see the header).
 * One holder per file and process.
 */
export function holdDuckDb(file: string, opts: WithDuckDbOptions & { idleMs?: number } = {}): HeldDuckDb {
  const path = resolve(file);
  if (holders.has(path)) throw new LogbenchError("INTERNAL", `DuckDB file ${path} is held twice in one process`);
  const holder = new DuckDbHolder(path, opts);
  holders.set(path, holder);
  return holder;
}

class DuckDbHolder implements HeldDuckDb {
  private instance: DuckDBInstance | null = null;
  private conn: DuckDBConnection | null = null;
  private lastUse = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Gave the file up because another process asked: wait for it before opening again. */
  private handedOverAt = 0;
  private closed = false;
  generation = 0;

  constructor(
    private readonly path: string,
    private readonly opts: WithDuckDbOptions & { idleMs?: number },
  ) {}

  get isOpen(): boolean {
    return this.conn !== null;
  }

  use<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return serialised(this.path, async () => {
      if (this.closed) throw new LogbenchError("INTERNAL", `DuckDB file ${this.path} is no longer held`);
      if (!this.conn) await this.open();
      try {
        return await fn(this.conn!);
      } finally {
        this.lastUse = Date.now();
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (holders.get(this.path) === this) holders.delete(this.path);
    await serialised(this.path, () => this.release());
  }

  private async open(): Promise<void> {
    if (this.handedOverAt) {
      const until = this.handedOverAt + HANDOVER_MS;
      while (Date.now() < until && existsSync(wantedPath(this.path))) await new Promise((r) => setTimeout(r, 10));
      this.handedOverAt = 0;
    }
    const instance = await openWithRetry(this.path, this.opts);
    try {
      this.conn = await instance.connect();
    } catch (err) {
      instance.closeSync();
      throw err;
    }
    this.instance = instance;
    this.generation++;
    this.timer = setInterval(() => this.check(), HOLD_POLL_MS);
    this.timer.unref();
  }

  /** Give the file up when idle or asked for; runs between uses. */
  private check(): void {
    if (!this.conn) return;
    const asked = existsSync(wantedPath(this.path));
    if (!asked && Date.now() - this.lastUse < (this.opts.idleMs ?? HOLD_IDLE_MS)) return;
    void serialised(this.path, async () => {
      if (!this.conn) return;
      if (asked) this.handedOverAt = Date.now();
      await this.release();
    }).catch(() => undefined);
  }

  private async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const conn = this.conn;
    const instance = this.instance;
    this.conn = null;
    this.instance = null;
    if (!conn || !instance) return;
    try {
      await conn.run("CHECKPOINT").catch(() => undefined);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  }
}

async function openWithRetry(path: string, opts: WithDuckDbOptions): Promise<DuckDBInstance> {
  const timeout = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeout;
  const options: Record<string, string> = { ...opts.settings, ...(opts.readOnly ? { access_mode: "READ_ONLY" } : {}) };
  // Only a missing folder is made: under Deno, mkdir asks for write access to the folder itself even when it exists,
  // and `deno-flags` grants the database's own files only (the stock `deno task daemon` failed at its first write).
  if (!opts.readOnly && !existsSync(dirname(path))) await mkdir(dirname(path), { recursive: true });
  let signalled = false;
  const instance = await withRetry(() => DuckDBInstance.create(path, options), {
    // Lock holders are other short-lived opens: poll fast at first, never slower than 250 ms.
    backoff: { baseMs: 5, maxMs: 250, jitter: [1, 2] },
    clampDelay: (ms) => Math.min(ms, deadline - Date.now()),
    signal: opts.signal,
    shouldRetry: (err, retry) => {
      const message = err instanceof Error ? err.message : String(err);
      if (opts.readOnly && MISSING_FILE.test(message)) {
        throw new LogbenchError("NOT_FOUND", `opening DuckDB file ${path} read-only: it does not exist`, {
          cause: err,
        });
      }
      if (!LOCK_CONFLICT.test(message)) {
        throw new LogbenchError("INTERNAL", `opening DuckDB file ${path}: ${message}`, { cause: err });
      }
      // Ask a holder (holdDuckDb) in the other process to give the file up; best effort. Again on every retry:
      // another waiter that got the file first removed the signal, and the holder has taken the file back.
      signalled = true;
      try {
        writeFileSync(wantedPath(path), String(process.pid));
      } catch {
        // a read-only folder: the holder gives the file up when idle anyway
      }
      if (deadline - Date.now() <= 0 || opts.signal?.aborted) {
        throw new LogbenchError(
          "UNAVAILABLE",
          `opening DuckDB file ${path}: another process has held it for ${timeout} ms (${retry + 1} attempts); ` +
            "DuckDB allows one writer or several readers per file, so close the other program or try again",
          { cause: err, details: { file: path, attempts: retry + 1 } },
        );
      }
      return true;
    },
  });
  // Opened: the signal (ours or another waiter's, who will ask again) has done its work.
  if (signalled || existsSync(wantedPath(path))) await unlink(wantedPath(path)).catch(() => undefined);
  return instance;
}

/**
 * Run a query and return plain JS rows: BIGINT/HUGEINT become numbers when they are safe integers and
 * decimal strings otherwise (so rows always survive JSON.stringify); TIMESTAMP/DATE become Date; lists and
 * structs are converted the same way, recursively.
 */
export async function queryRows(
  conn: DuckDBConnection,
  sql: string,
  params?: DuckDBValue[] | Record<string, DuckDBValue>,
): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql, params);
  return reader.getRowObjectsJS().map((row) => plain(row) as Record<string, unknown>);
}

function plain(value: unknown): unknown {
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

/** Double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Single-quoted SQL string literal (file paths, globs). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
