/**
 * Pacing by a token bucket against the clock: tokens accrue at `rate` per second up to `burst`, and a batch of n
 * lines waits until n tokens are there. Sleeping per line would drift (timer granularity, time spent writing);
 * the bucket measures the time actually elapsed, so a slow write is made up by the next batch, and an idle spell
 * never allows more than `burst` at once.
 */

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after ms (or early when the run is stopped). */
  sleep(ms: number): Promise<void>;
}

export class TokenBucket {
  private tokens = 0;
  private last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly clock: Clock,
  ) {
    if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be ≥ 1, got ${burst}`);
    this.last = clock.now();
  }

  /** Waits until n tokens (n ≤ burst) are available and takes them; `stopped` ends the wait early (false). */
  async take(n: number, stopped: () => boolean = () => false): Promise<boolean> {
    if (n > this.burst) throw new RangeError(`cannot take ${n} tokens from a bucket of ${this.burst}`);
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= n) {
        this.tokens -= n;
        return true;
      }
      if (stopped()) return false;
      await this.clock.sleep(Math.max(1, Math.ceil(((n - this.tokens) * 1000) / this.rate)));
    }
  }
}

/**
 * Bucket size for a rate: one second of lines. A stall shorter than that (a busy machine, a slow bus ack) is made
 * up by the next batches, so the rate holds over seconds; a longer one is not, so a burst never exceeds 1 s.
 */
export function burstFor(rate: number, batch: number): number {
  return Math.max(batch, Math.ceil(rate));
}

/** Lines per batch for a rate: about 20 batches a second, so a batch never holds lines due far apart. */
export function batchSizeFor(rate: number, maxLines: number): number {
  if (!(rate > 0)) return maxLines;
  return Math.max(1, Math.min(maxLines, Math.round(rate / 20)));
}

/** Event time of line `index` on a fixed schedule: `rate` lines per second from `start` (epoch ms). */
export function scheduledTime(start: number, rate: number, index: number): number {
  return start + Math.floor((index * 1000) / rate);
}
