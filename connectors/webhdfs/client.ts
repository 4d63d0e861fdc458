/**
 * Typed WebHDFS client on the global `fetch`.
 * Protocol: Hadoop WebHDFS REST API, apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md
 * (https://hadoop.apache.org/docs/stable/hadoop-project-dist/hadoop-hdfs/WebHDFS.html).
 *
 * CREATE/APPEND/OPEN are two steps: the NameNode answers 307 with a DataNode Location and the client
 * sends the bytes there, so redirects are followed by hand and the first request carries no data.
 * Retries (with backoff) only for retryable failures, and only where repeating cannot do harm: a
 * request whose outcome is unknown (connection lost after sending) is repeated only for idempotent
 * ops, and RENAME / CREATE without overwrite check what the lost attempt did. The delegation token
 * goes in the URL (as the spec wants), so URLs never appear in errors or logs, and messages are
 * scrubbed of the token.
 */
import type { Logger, Metrics } from "../context.ts";
import { isLogbenchError, LogbenchError } from "../errors.ts";
import { withRetry } from "../retry.ts";
import { httpError, retryAfterMs } from "./errors.ts";

export interface WebHdfsClientOptions {
  /** NameNode HTTP address, e.g. http://namenode:9870 */
  url: string;
  /** user.name for simple authentication (ignored when a delegation token is given). */
  user?: string;
  /** Delegation token (URL-safe encoded), sent as the `delegation` parameter. */
  delegationToken?: string;
  /** Time allowed for one HTTP request, body included (default 30 s). */
  timeoutMs?: number;
  /** Retries of a retryable failure (default 3). */
  retries?: number;
  /** First backoff delay; doubles on each retry, capped at 10 s (default 200 ms). */
  retryBackoffMs?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Aborts every request in flight and every backoff wait. */
  signal?: AbortSignal;
}

/** FileStatus JSON object (WebHDFS.md "FileStatus Properties"). */
export interface HdfsFileStatus {
  accessTime: number;
  blockSize: number;
  group: string;
  length: number;
  modificationTime: number;
  owner: string;
  /** Name relative to the listed directory; "" for GETFILESTATUS. */
  pathSuffix: string;
  /** Octal string, e.g. "644". */
  permission: string;
  replication: number;
  type: "FILE" | "DIRECTORY" | "SYMLINK";
  childrenNum?: number;
  fileId?: number;
  storagePolicy?: number;
  symlink?: string;
}

interface Attempts {
  /** A previous attempt may have been applied by the server (connection lost after sending). */
  maybeApplied: boolean;
}

type Params = Record<string, string | number | boolean | undefined>;

const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);
const MAX_BACKOFF_MS = 10_000;

export class WebHdfsClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly options: WebHdfsClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.retryBackoffMs ?? 200;
  }

  /** GETFILESTATUS; NOT_FOUND when the path does not exist. */
  getFileStatus(path: string): Promise<HdfsFileStatus> {
    const doing = `getting the status of ${path}`;
    return this.retrying(doing, true, async () => {
      const body = await this.jsonOp<{ FileStatus?: HdfsFileStatus }>(doing, "GET", path, "GETFILESTATUS");
      if (!body.FileStatus) throw unexpected(doing, "no FileStatus");
      return body.FileStatus;
    });
  }

  /** GETFILESTATUS, or null when the path does not exist. */
  async status(path: string): Promise<HdfsFileStatus | null> {
    try {
      return await this.getFileStatus(path);
    } catch (err) {
      if (isLogbenchError(err, "NOT_FOUND")) return null;
      throw err;
    }
  }

  /** LISTSTATUS: the children of a directory (a file lists itself with pathSuffix ""). */
  listStatus(path: string): Promise<HdfsFileStatus[]> {
    const doing = `listing ${path}`;
    return this.retrying(doing, true, async () => {
      const body = await this.jsonOp<{ FileStatuses?: { FileStatus?: HdfsFileStatus[] } }>(
        doing,
        "GET",
        path,
        "LISTSTATUS",
      );
      const list = body.FileStatuses?.FileStatus;
      if (!Array.isArray(list)) throw unexpected(doing, "no FileStatuses");
      return list;
    });
  }

  /** MKDIRS (parents included); true also when the directory already exists. */
  mkdirs(path: string, options: { permission?: string } = {}): Promise<boolean> {
    const doing = `creating directory ${path}`;
    return this.retrying(doing, true, async () => {
      const body = await this.jsonOp<{ boolean?: boolean }>(doing, "PUT", path, "MKDIRS", {
        permission: options.permission,
      });
      return booleanOf(doing, body);
    });
  }

  /**
   * RENAME with HDFS semantics: false when the source is missing, the destination's parent is
   * missing, or the destination is an existing file; onto an existing directory it moves inside it.
   */
  rename(from: string, to: string): Promise<boolean> {
    const doing = `renaming ${from} to ${to}`;
    return this.retrying(doing, true, async (attempts) => {
      const body = await this.jsonOp<{ boolean?: boolean }>(doing, "PUT", from, "RENAME", { destination: to });
      const done = booleanOf(doing, body);
      if (!done && attempts.maybeApplied) {
        // A lost attempt may have done it: the source gone and the destination there means it did.
        const [src, dst] = await Promise.all([this.status(from), this.status(to)]);
        if (!src && dst) return true;
      }
      return done;
    });
  }

  /** DELETE; false when nothing was there. A non-empty directory needs `recursive`. */
  delete(path: string, options: { recursive?: boolean } = {}): Promise<boolean> {
    const doing = `deleting ${path}`;
    return this.retrying(doing, true, async () => {
      const body = await this.jsonOp<{ boolean?: boolean }>(doing, "DELETE", path, "DELETE", {
        recursive: options.recursive ?? false,
      });
      return booleanOf(doing, body);
    });
  }

  /** CREATE (two steps); parents are created. ALREADY_EXISTS unless `overwrite`. */
  create(
    path: string,
    data: Uint8Array,
    options: { overwrite?: boolean; permission?: string; replication?: number; blockSize?: number } = {},
  ): Promise<void> {
    const doing = `creating ${path}`;
    const overwrite = options.overwrite ?? false;
    const params = {
      overwrite,
      permission: options.permission,
      replication: options.replication,
      blocksize: options.blockSize,
    };
    return this.retrying(doing, true, async (attempts) => {
      try {
        await this.twoStep(doing, "PUT", path, "CREATE", params, data, 201);
      } catch (err) {
        // A lost attempt may have written the file: if it holds exactly our bytes, the create is done.
        if (
          !overwrite &&
          attempts.maybeApplied &&
          isLogbenchError(err, "ALREADY_EXISTS") &&
          (await this.holds(path, data))
        ) {
          return;
        }
        throw err;
      }
    });
  }

  /** APPEND (two steps). Never repeated once the bytes may have reached a DataNode. */
  append(path: string, data: Uint8Array): Promise<void> {
    const doing = `appending to ${path}`;
    return this.retrying(doing, false, async () => {
      await this.twoStep(doing, "POST", path, "APPEND", {}, data, 200);
    });
  }

  /** OPEN (two steps): the bytes from `offset` (default 0), `length` bytes or to the end. */
  open(path: string, options: { offset?: number; length?: number } = {}): Promise<Uint8Array> {
    const doing = `reading ${path}`;
    return this.retrying(doing, true, async () => {
      const res = await this.twoStep(
        doing,
        "GET",
        path,
        "OPEN",
        { offset: options.offset, length: options.length },
        undefined,
        200,
      );
      return new Uint8Array(await this.readBody(doing, res, true));
    });
  }

  // ─── plumbing ────────────────────────────────────────────────────────────────────────────────

  private async holds(path: string, data: Uint8Array): Promise<boolean> {
    const st = await this.status(path);
    if (st?.type !== "FILE" || st.length !== data.length) return false;
    const stored = await this.open(path);
    return stored.length === data.length && stored.every((byte, i) => byte === data[i]);
  }

  private url(path: string, op: string, params: Params = {}, base = this.base): string {
    if (!path.startsWith("/")) throw new LogbenchError("BAD_REQUEST", `WebHDFS paths are absolute, got "${path}"`);
    const q = new URLSearchParams({ op });
    if (this.options.delegationToken) q.set("delegation", this.options.delegationToken);
    else if (this.options.user) q.set("user.name", this.options.user);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
    return `${base}/webhdfs/v1${path.split("/").map(encodeURIComponent).join("/")}?${q}`;
  }

  private async jsonOp<T>(doing: string, method: string, path: string, op: string, params: Params = {}): Promise<T> {
    const res = await this.send(doing, method, this.url(path, op, params), undefined, method !== "GET");
    const text = new TextDecoder().decode(await this.readBody(doing, res, method !== "GET"));
    if (res.status !== 200) throw this.failed(doing, res, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw unexpected(doing, `a body that is not JSON (HTTP ${res.status})`);
    }
  }

  private async twoStep(
    doing: string,
    method: string,
    path: string,
    op: string,
    params: Params,
    data: Uint8Array | undefined,
    expect: number,
  ): Promise<Response> {
    // Step 1 changes nothing on the NameNode, so a connection lost there never leaves an unknown outcome.
    const first = await this.send(doing, method, this.url(path, op, params), undefined, false);
    if (first.status !== 307) {
      const text = new TextDecoder().decode(await this.readBody(doing, first, false));
      if (first.status < 300) throw unexpected(doing, `HTTP ${first.status} where a 307 redirect was expected`);
      throw this.failed(doing, first, text);
    }
    await first.body?.cancel();
    const location = first.headers.get("location");
    if (!location || !/^https?:\/\//i.test(location)) throw unexpected(doing, "a redirect without an http(s) Location");
    const second = await this.send(doing, method, location, data, method !== "GET");
    if (second.status !== expect) {
      throw this.failed(doing, second, new TextDecoder().decode(await this.readBody(doing, second, method !== "GET")));
    }
    return second;
  }

  private async send(
    doing: string,
    method: string,
    url: string,
    body: Uint8Array | undefined,
    sideEffects: boolean,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    try {
      return await fetch(url, {
        method,
        redirect: "manual",
        signal,
        ...(body
          ? { body: body as Uint8Array<ArrayBuffer>, headers: { "Content-Type": "application/octet-stream" } }
          : {}),
      });
    } catch (err) {
      throw this.transportError(doing, err, sideEffects);
    }
  }

  private async readBody(doing: string, res: Response, sideEffects: boolean): Promise<ArrayBuffer> {
    try {
      return await res.arrayBuffer();
    } catch (err) {
      throw this.transportError(doing, err, sideEffects);
    }
  }

  private failed(doing: string, res: Response, text: string): LogbenchError {
    return httpError(doing, res.status, text, this.redact, retryAfterMs(res.headers.get("retry-after")));
  }

  private transportError(doing: string, err: unknown, sideEffects: boolean): LogbenchError {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (this.options.signal?.aborted) {
      return new LogbenchError("UNAVAILABLE", `${doing}: aborted`, { retryable: false, cause: this.safeCause(err) });
    }
    if (e?.name === "TimeoutError" || e?.name === "AbortError") {
      return new LogbenchError("TIMEOUT", `${doing}: no answer within ${this.timeoutMs} ms`, {
        cause: this.safeCause(err),
        details: { maybeApplied: sideEffects },
      });
    }
    const code = e?.cause?.code;
    const reason = e?.cause?.message ?? e?.message ?? String(err);
    return new LogbenchError("UNAVAILABLE", this.redact(`${doing}: ${reason}`), {
      cause: this.safeCause(err),
      // Deno words a refused connection in the message instead of an errno code.
      details: {
        maybeApplied: sideEffects && !NOT_SENT.has(code ?? "") && !/tcp connect error/i.test(reason),
        errno: code,
      },
    });
  }

  private retrying<T>(doing: string, idempotent: boolean, fn: (attempts: Attempts) => Promise<T>): Promise<T> {
    const attempts: Attempts = { maybeApplied: false };
    return withRetry(() => fn(attempts), {
      retries: this.retries,
      backoff: { baseMs: this.backoffMs, maxMs: MAX_BACKOFF_MS },
      signal: this.options.signal,
      abortError: () => new LogbenchError("UNAVAILABLE", "Waiting to retry: aborted", { retryable: false }),
      shouldRetry: (err) => {
        if (!(err instanceof LogbenchError)) return false;
        const unknownOutcome = err.details?.maybeApplied === true;
        if (unknownOutcome && !idempotent) {
          throw new LogbenchError(err.code, `${err.message} (the outcome is unknown: not retried)`, {
            retryable: false,
            cause: err,
            details: err.details,
          });
        }
        attempts.maybeApplied ||= unknownOutcome;
        return err.retryable;
      },
      onRetry: ({ error, retry, delayMs }) => {
        const code = (error as LogbenchError).code;
        this.options.logger?.debug("Retrying a WebHDFS request.", { doing, attempt: retry, code, delayMs });
        this.options.metrics?.inc("logbench_webhdfs_retries_total", { code });
      },
    });
  }

  /** Scrubs the delegation token (plain and URL-encoded) from a text. */
  private readonly redact = (text: string): string => {
    const token = this.options.delegationToken;
    if (!token) return text;
    let out = text;
    for (const form of new Set([
      token,
      encodeURIComponent(token),
      new URLSearchParams({ t: token }).toString().slice(2),
    ])) {
      out = out.split(form).join("<redacted>");
    }
    return out;
  };

  /** The original error, unless its text carries the token. */
  private safeCause(err: unknown): unknown {
    const token = this.options.delegationToken;
    if (!token || !(err instanceof Error)) return err;
    const text = `${err.message} ${err.stack ?? ""} ${String((err as { cause?: unknown }).cause ?? "")}`;
    return text.includes(token) || text.includes(encodeURIComponent(token)) ? new Error(this.redact(err.message)) : err;
  }
}

function booleanOf(doing: string, body: { boolean?: boolean }): boolean {
  if (typeof body.boolean !== "boolean") throw unexpected(doing, "no boolean");
  return body.boolean;
}

function unexpected(doing: string, what: string): LogbenchError {
  return new LogbenchError("INTERNAL", `${doing}: the server answered with ${what}`);
}
