/**
 * One GET of a polled API, its answer mapped to what the poller does with it (as telegraf's outputs type their
 * HTTP errors): a body to read (2xx, or a status retrying cannot change, which becomes a dead letter), or a
 * LogbenchError whose `retryable` and `retryAfterMs` drive `retryWhileRunning`:
 *   429 → THROTTLED, 503 → UNAVAILABLE, both with the server's Retry-After (RFC 9110 §10.2.3: seconds or a date);
 *   408, 425, 500, 502, 504, connection failures → retryable with backoff; a timeout → TIMEOUT;
 *   401, 403 → PERMISSION (not retried: an operator must fix the credentials).
 */
import { LogbenchError } from "../../connectors/errors.ts";

export interface HttpAnswer {
  status: number;
  body: Uint8Array;
  /** The body was cut at `maxBytes`. */
  truncated: boolean;
}

export interface GetOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
}

const RETRYABLE_STATUS = new Set([408, 425, 500, 502, 504]);
/** Longest Retry-After honoured; a server asking for more is asked again after this. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** The answer, or null when `signal` aborted (the daemon is stopping: not an error). */
export async function httpGet(url: string, what: string, o: GetOptions): Promise<HttpAnswer | null> {
  if (o.signal.aborted) return null;
  const timeout = AbortSignal.timeout(o.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers: o.headers, signal: AbortSignal.any([o.signal, timeout]), redirect: "follow" });
  } catch (err) {
    if (o.signal.aborted) return null;
    if (timeout.aborted)
      throw new LogbenchError("TIMEOUT", `polling ${what}: no answer within ${o.timeoutMs} ms`, { cause: err });
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new LogbenchError("UNAVAILABLE", `polling ${what}: ${reason}`, { cause: err });
  }
  if (res.status === 429 || res.status === 503) {
    await res.body?.cancel();
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), Date.now());
    throw new LogbenchError(res.status === 429 ? "THROTTLED" : "UNAVAILABLE", `polling ${what}: HTTP ${res.status}`, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      details: { status: res.status },
    });
  }
  if (RETRYABLE_STATUS.has(res.status)) {
    await res.body?.cancel();
    throw new LogbenchError("UNAVAILABLE", `polling ${what}: HTTP ${res.status}`, { details: { status: res.status } });
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new LogbenchError("PERMISSION", `polling ${what}: HTTP ${res.status}; check the source's headers`);
  }
  try {
    const { body, truncated } = await readBounded(res, o.maxBytes);
    return { status: res.status, body, truncated };
  } catch (err) {
    if (o.signal.aborted) return null;
    throw new LogbenchError(timeout.aborted ? "TIMEOUT" : "UNAVAILABLE", `polling ${what}: reading the answer`, {
      cause: err,
    });
  }
}

/** Retry-After in ms from now: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

async function readBounded(res: Response, maxBytes: number): Promise<{ body: Uint8Array; truncated: boolean }> {
  if (!res.body) return { body: new Uint8Array(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      return { body: Buffer.concat(chunks).subarray(0, maxBytes), truncated: true };
    }
  }
  return { body: Buffer.concat(chunks), truncated: false };
}
