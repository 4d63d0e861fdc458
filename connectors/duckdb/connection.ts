/**
 * Short-lived DuckDB connections to a database file that several processes share.
 *
 * DuckDB lets one process open a file read-write, or several processes open it read-only, never both
 * (https://duckdb.org/docs/stable/connect/concurrency): the daemon writing the series and `logbench query`
 * or a notebook data loader reading them must therefore each open the file, do their work and close it.
 * `withDuckDb` does exactly that, and waits (bounded, with backoff) while another process holds the file.
 */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { LogbenchError } from "../errors.ts";
import { withRetry } from "../retry.ts";

export type { DuckDBConnection } from "@duckdb/node-api";

export interface WithDuckDbOptions {
  /** Open with access_mode READ_ONLY (many readers may share the file); the file must exist. */
  readOnly?: boolean;
  /** How long to keep retrying while another process holds a conflicting lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Stops the lock wait early. */
  signal?: AbortSignal;
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
  const previous = fileQueues.get(path) ?? Promise.resolve();
  const run = previous.then(
    () => undefined,
    () => undefined,
  );
  const task = run.then(async () => runOn(await openWithRetry(path, opts), fn));
  const settled = task.then(
    () => undefined,
    () => undefined,
  );
  fileQueues.set(path, settled);
  try {
    return await task;
  } finally {
    if (fileQueues.get(path) === settled) fileQueues.delete(path);
  }
}

async function runOn<T>(instance: DuckDBInstance, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  try {
    const conn = await instance.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

async function openWithRetry(path: string, opts: WithDuckDbOptions): Promise<DuckDBInstance> {
  const timeout = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeout;
  const options: Record<string, string> = opts.readOnly ? { access_mode: "READ_ONLY" } : {};
  if (!opts.readOnly) await mkdir(dirname(path), { recursive: true });
  return withRetry(() => DuckDBInstance.create(path, options), {
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
