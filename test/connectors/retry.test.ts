/** The shared retry loop and sleep: what is retried, how long it waits, and how an abort ends it. */
import { describe, expect, it } from "vitest";
import { LogbenchError } from "../../connectors/errors.ts";
import { backoffMs, type RetryEvent, sleepOrAbort, withRetry } from "../../connectors/retry.ts";

const unavailable = (opts: { retryAfterMs?: number } = {}) => new LogbenchError("UNAVAILABLE", "down", opts);
const fast = { baseMs: 1, maxMs: 1, jitter: [1, 1] as const };

/** An attempt that fails with the given errors in turn, then returns "ok". */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  const fn = async (retry: number) => {
    calls.push(retry);
    const err = errors.shift();
    if (err !== undefined) throw err;
    return "ok";
  };
  return { fn, calls };
}

describe("backoffMs", () => {
  it("doubles from the base up to the cap, within the jitter range", () => {
    expect([0, 1, 2, 3, 10].map((r) => backoffMs({ baseMs: 10, maxMs: 50, jitter: [1, 1] }, r))).toEqual([
      10, 20, 40, 50, 50,
    ]);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs({ baseMs: 100, maxMs: 1000 }, 2);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThan(400);
      const up = backoffMs({ baseMs: 5, maxMs: 250, jitter: [1, 2] }, 0);
      expect(up).toBeGreaterThanOrEqual(5);
      expect(up).toBeLessThan(10);
    }
  });
});

describe("withRetry", () => {
  it("retries retryable LogbenchErrors and reports each retry", async () => {
    const { fn, calls } = failing(unavailable(), unavailable());
    const events: RetryEvent[] = [];
    expect(await withRetry(fn, { backoff: fast, onRetry: (e) => events.push(e) })).toBe("ok");
    expect(calls).toEqual([0, 1, 2]);
    expect(events.map((e) => e.retry)).toEqual([1, 2]);
  });

  it("throws a non-retryable error, or any other value, at once", async () => {
    const bad = new LogbenchError("BAD_REQUEST", "no");
    const first = failing(bad);
    await expect(withRetry(first.fn, { backoff: fast })).rejects.toBe(bad);
    expect(first.calls).toEqual([0]);
    const plain = new Error("plain");
    await expect(withRetry(failing(plain).fn, { backoff: fast })).rejects.toBe(plain);
  });

  it("stops after `retries` retries with the last error", async () => {
    const last = unavailable();
    const { fn, calls } = failing(unavailable(), unavailable(), last, unavailable());
    await expect(withRetry(fn, { retries: 2, backoff: fast })).rejects.toBe(last);
    expect(calls).toEqual([0, 1, 2]);
  });

  it("waits the Retry-After instead of the backoff, or at least it, and refuses one beyond the limit", async () => {
    const waits: number[] = [];
    const onRetry = (e: RetryEvent) => waits.push(e.delayMs);
    await withRetry(failing(unavailable({ retryAfterMs: 3 })).fn, {
      backoff: { ...fast, baseMs: 40, maxMs: 40 },
      onRetry,
    });
    await withRetry(failing(unavailable({ retryAfterMs: 3 })).fn, {
      backoff: { ...fast, baseMs: 20, maxMs: 20 },
      retryAfter: "at-least",
      onRetry,
    });
    expect(waits).toEqual([3, 20]);
    const long = unavailable({ retryAfterMs: 60_000 });
    const { fn, calls } = failing(long);
    await expect(withRetry(fn, { backoff: fast, maxRetryAfterMs: 1000 })).rejects.toBe(long);
    expect(calls).toEqual([0]);
  });

  it("lets shouldRetry pick the errors and replace them", async () => {
    const marker = new Error("again");
    const { fn, calls } = failing(marker, marker);
    expect(await withRetry(fn, { backoff: fast, shouldRetry: (e) => e === marker })).toBe("ok");
    expect(calls).toHaveLength(3);
    const replaced = new LogbenchError("CONFIG", "replaced");
    await expect(
      withRetry(failing(unavailable()).fn, {
        backoff: fast,
        shouldRetry: () => {
          throw replaced;
        },
      }),
    ).rejects.toBe(replaced);
  });

  it("clamps each wait", async () => {
    const waits: number[] = [];
    await withRetry(failing(unavailable()).fn, {
      backoff: { baseMs: 10_000, maxMs: 10_000 },
      clampDelay: (ms) => Math.min(ms, 2),
      onRetry: (e) => waits.push(e.delayMs),
    });
    expect(waits).toEqual([2]);
  });

  it("retries for as long as the signal is not aborted, then throws the last error", async () => {
    const ac = new AbortController();
    let calls = 0;
    const last = unavailable();
    const run = withRetry(
      async () => {
        calls++;
        if (calls === 5) ac.abort();
        throw calls >= 5 ? last : unavailable();
      },
      { backoff: fast, signal: ac.signal },
    );
    await expect(run).rejects.toBe(last);
    expect(calls).toBe(5);
  });

  it("an abort during a wait cuts it short for one last attempt", async () => {
    const ac = new AbortController();
    const { fn, calls } = failing(unavailable());
    const started = Date.now();
    const run = withRetry(fn, { backoff: { baseMs: 60_000, maxMs: 60_000 }, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    expect(await run).toBe("ok");
    expect(calls).toEqual([0, 1]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("with abortError, an abort before or during a wait throws that error", async () => {
    const stopped = new LogbenchError("UNAVAILABLE", "stopped", { retryable: false });
    const during = new AbortController();
    const a = failing(unavailable());
    const run = withRetry(a.fn, {
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      signal: during.signal,
      abortError: () => stopped,
    });
    setTimeout(() => during.abort(), 20);
    await expect(run).rejects.toBe(stopped);
    expect(a.calls).toEqual([0]);
    const b = failing(unavailable());
    await expect(
      withRetry(b.fn, { backoff: fast, signal: AbortSignal.abort(), abortError: () => stopped }),
    ).rejects.toBe(stopped);
    expect(b.calls).toEqual([0]);
  });
});

describe("sleepOrAbort", () => {
  it("resolves after the time, or at once when the signal aborts", async () => {
    let t = Date.now();
    await sleepOrAbort(30);
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
    const ac = new AbortController();
    t = Date.now();
    const slept = sleepOrAbort(60_000, ac.signal);
    ac.abort();
    await slept;
    await sleepOrAbort(60_000, ac.signal);
    expect(Date.now() - t).toBeLessThan(10_000);
  });
});
