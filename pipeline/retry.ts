/**
 * The stages' answer to a failing sink: retryable LogbenchErrors are retried with exponential backoff (or the
 * server's Retry-After) for as long as the daemon runs, which is what holds back consumption (back-pressure);
 * anything else is thrown. Each failure is counted under `errorMetric` by code. A policy on connectors/retry.ts.
 */
import type { Context } from "../connectors/context.ts";
import { isLogbenchError } from "../connectors/errors.ts";
import { withRetry } from "../connectors/retry.ts";

/** Run `fn` until it succeeds, fails for good, or `ctx.signal` aborts (then the last failure is thrown). */
export async function retryWhileRunning<T>(
  ctx: Context,
  what: { doing: string; errorMetric: string },
  fn: () => Promise<T>,
): Promise<T> {
  const counted = async () => {
    try {
      return await fn();
    } catch (err) {
      ctx.metrics.inc(what.errorMetric, { code: isLogbenchError(err) ? err.code : "INTERNAL" });
      throw err;
    }
  };
  return withRetry(counted, {
    // The stages' schedule as it always was: 250 ms doubling to 30 s, without jitter.
    backoff: { baseMs: 250, maxMs: 30_000, jitter: [1, 1] },
    signal: ctx.signal,
    onRetry: ({ error, delayMs }) =>
      ctx.logger.warn(`Failed while ${what.doing}; retrying.`, {
        code: isLogbenchError(error) ? error.code : "INTERNAL",
        waitMs: delayMs,
      }),
  });
}
