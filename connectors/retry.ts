/**
 * The one retry loop and the one abortable sleep of logbench. Every caller keeps its own policy (what is
 * retried, how often, how long it waits); this module only runs it, so that backoff, jitter, Retry-After
 * and abort are handled the same way everywhere.
 */
import { setTimeout as delay } from "node:timers/promises";
import { LogbenchError } from "./errors.ts";

/**
 * Sleep for `ms`, ending early (resolving, not rejecting) when `signal` aborts: for loops that check their
 * own "still running" condition after each pause.
 */
export async function sleepOrAbort(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}

/** Shape of an exponential backoff: `min(maxMs, baseMs × 2^retry) × (a random factor in [jitter[0], jitter[1]))`. */
export interface BackoffShape {
  baseMs: number;
  maxMs: number;
  /** Random factor range; [1, 1] for none. Default [0.5, 1]: spreads retries of many clients apart. */
  jitter?: readonly [number, number];
}

/** The wait before retry number `retry` (0 for the first retry). */
export function backoffMs(shape: BackoffShape, retry: number): number {
  const [low, high] = shape.jitter ?? [0.5, 1];
  return Math.min(shape.maxMs, shape.baseMs * 2 ** retry) * (low + Math.random() * (high - low));
}

/** What `onRetry` hears before each wait. */
export interface RetryEvent {
  error: unknown;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
}

export interface RetryOptions {
  /** Retries after the first attempt; Infinity retries for as long as `signal` is not aborted (default). */
  retries?: number;
  backoff: BackoffShape;
  /** Shortens a wait (for example to a deadline); gets the computed wait, returns the one to use. */
  clampDelay?: (delayMs: number) => number;
  /**
   * Whether a failure is worth another attempt; default: a retryable LogbenchError. May throw instead (a
   * replacement error, or a deadline's own error): that ends the loop with what it threw.
   */
  shouldRetry?: (error: unknown, retry: number) => boolean;
  /**
   * A LogbenchError's `retryAfterMs` (the server's Retry-After): "replace" waits exactly that long instead of
   * the backoff (default), "at-least" waits the longer of the two.
   */
  retryAfter?: "replace" | "at-least";
  /** A Retry-After longer than this is not waited for: the error goes to the caller (default: no limit). */
  maxRetryAfterMs?: number;
  /**
   * Stops the retrying. By default an abort before a wait throws the last error, and an abort during a wait
   * cuts it short for one last attempt (whose failure is then thrown). With `abortError` an abort before or
   * during a wait throws `abortError(lastError)` instead.
   */
  signal?: AbortSignal;
  abortError?: (lastError: unknown) => unknown;
  /** Called before each wait, for metrics and logs. */
  onRetry?: (event: RetryEvent) => void;
}

/** Run `attempt` (given the number of retries so far) until it succeeds or the options say to stop. */
export async function withRetry<T>(attempt: (retry: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retries = options.retries ?? Number.POSITIVE_INFINITY;
  const shouldRetry = options.shouldRetry ?? ((err: unknown) => err instanceof LogbenchError && err.retryable);
  const signal = options.signal;
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(retry);
    } catch (err) {
      if (!shouldRetry(err, retry) || retry >= retries) throw err;
      if (signal?.aborted) throw options.abortError ? options.abortError(err) : err;
      const wait = waitBefore(err, retry, options);
      options.onRetry?.({ error: err, retry: retry + 1, delayMs: wait });
      await sleepOrAbort(wait, signal);
      if (signal?.aborted && options.abortError) throw options.abortError(err);
    }
  }
}

function waitBefore(err: unknown, retry: number, options: RetryOptions): number {
  const after = err instanceof LogbenchError ? err.retryAfterMs : undefined;
  if (after !== undefined && after > (options.maxRetryAfterMs ?? Number.POSITIVE_INFINITY)) throw err;
  const backoff = backoffMs(options.backoff, retry);
  const wait = after === undefined ? backoff : options.retryAfter === "at-least" ? Math.max(after, backoff) : after;
  return options.clampDelay ? options.clampDelay(wait) : wait;
}
