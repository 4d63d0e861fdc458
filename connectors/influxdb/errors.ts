/**
 * InfluxDB HTTP answers → LogbenchError, and the bounded retry policy both stores use.
 * v1 errors are {"error": "..."} (https://docs.influxdata.com/influxdb/v1.6/tools/api/#status-codes-and-responses-2),
 * v2 errors are {"code": "...", "message": "..."} (https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite).
 *   400, 413, 422  → BAD_REQUEST, not retried: partial write, field type conflict, unparsable line protocol
 *   401, 403       → PERMISSION
 *   404            → NOT_FOUND (database, bucket or organisation missing)
 *   429            → THROTTLED, retried after Retry-After
 *   5xx, no answer → UNAVAILABLE / TIMEOUT, retried with backoff (Retry-After honoured when given)
 */
import type { Context } from "../context.ts";
import { type ErrorCode, LogbenchError, wrapError } from "../errors.ts";
import { withRetry } from "../retry.ts";

/** wrapError, unless the error already says what was being done (request errors carry the same words). */
export function inContext(doing: string, err: unknown): LogbenchError {
  return err instanceof LogbenchError && err.message.startsWith(doing) ? err : wrapError(doing, err);
}

/** Replace every secret found in `text` with "***" (servers and proxies sometimes echo what they got). */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("***");
  return out;
}

/** Retry-After is seconds or an HTTP date; returns milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The server's own words from an error body (v1 or v2 shape), shortened. */
export function serverMessage(body: string): string {
  let text = body.trim();
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown; code?: unknown };
    if (typeof json.error === "string") text = json.error;
    else if (typeof json.message === "string") text = json.message;
  } catch {
    // not JSON: keep the text
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return "PERMISSION";
  if (status === 404) return "NOT_FOUND";
  if (status === 429) return "THROTTLED";
  if (status === 408 || status === 504) return "TIMEOUT";
  if (status >= 500) return "UNAVAILABLE";
  if (status >= 400) return "BAD_REQUEST";
  return "INTERNAL";
}

/** An HTTP answer that is not a success, as a LogbenchError. */
export function influxHttpError(
  doing: string,
  status: number,
  body: string,
  retryAfter: string | null | undefined,
  secrets: ReadonlyArray<string | undefined>,
): LogbenchError {
  const code = codeForStatus(status);
  const said = serverMessage(body);
  const message = redact(`${doing}: HTTP ${status}${said ? `: ${said}` : ""}`, secrets);
  return new LogbenchError(code, message, {
    retryAfterMs: parseRetryAfter(retryAfter),
    details: { status },
  });
}

/** A request that got no HTTP answer (refused, reset, timed out, aborted). */
export function influxNetworkError(
  doing: string,
  err: unknown,
  secrets: ReadonlyArray<string | undefined>,
  aborted: boolean,
): LogbenchError {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const reason = e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
  if (aborted) {
    return new LogbenchError("UNAVAILABLE", redact(`${doing}: stopped (shutting down)`, secrets), {
      retryable: false,
      cause: err,
    });
  }
  const timedOut = e.name === "TimeoutError" || e.name === "RequestTimedOutError" || /timed? ?out/i.test(reason);
  return new LogbenchError(timedOut ? "TIMEOUT" : "UNAVAILABLE", redact(`${doing}: ${reason}`, secrets), {
    cause: err,
  });
}

export interface RetryPolicy {
  maxRetries: number;
  /** First backoff (doubles each retry, with jitter); default 200 ms. */
  baseDelayMs?: number;
  /** Longest backoff, and the longest Retry-After waited in process; default 30 s. */
  maxDelayMs?: number;
  /** Labels the retry counter; low cardinality (the store kind). */
  store: string;
}

/**
 * Run `attempt` until it succeeds, throws a non-retryable error, or `maxRetries` retries are spent.
 * A Retry-After longer than maxDelayMs is not slept through: the error goes to the caller, whose own
 * schedule (the aggregate stage's next flush) is the better place to wait.
 */
export function withRetries<T>(ctx: Context, policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  const cap = policy.maxDelayMs ?? 30_000;
  return withRetry(attempt, {
    retries: policy.maxRetries,
    backoff: { baseMs: policy.baseDelayMs ?? 200, maxMs: cap },
    retryAfter: "at-least",
    maxRetryAfterMs: cap,
    signal: ctx.signal,
    onRetry: ({ error, retry, delayMs }) => {
      const err = error as LogbenchError;
      ctx.metrics.inc("logbench_series_retries_total", { store: policy.store, code: err.code });
      ctx.logger.warn("Retrying a series store request after a retryable error", {
        store: policy.store,
        code: err.code,
        retry,
        delayMs: Math.round(delayMs),
        error: err.message,
      });
    },
  });
}
