/**
 * The stages' answer to a failing sink: retryable LogbenchErrors are retried with exponential backoff (or the
 * server's Retry-After) for as long as the daemon runs, which is what holds back consumption (back-pressure);
 * anything else is thrown. Each failure is counted under `errorMetric` by code.
 */
import type { Context } from "../connectors/context.ts";
import { isLogbenchError } from "../connectors/errors.ts";
import { sleep } from "./ingest/source.ts";

export async function retryWhileRunning<T>(
  ctx: Context,
  what: { doing: string; errorMetric: string },
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = isLogbenchError(err) ? err.code : "INTERNAL";
      ctx.metrics.inc(what.errorMetric, { code });
      if (!isLogbenchError(err) || !err.retryable || ctx.signal.aborted) throw err;
      const wait = err.retryAfterMs ?? Math.min(30_000, 250 * 2 ** attempt);
      ctx.logger.warn(`Failed while ${what.doing}; retrying.`, { code, waitMs: wait });
      await sleep(wait, ctx.signal);
    }
  }
}
