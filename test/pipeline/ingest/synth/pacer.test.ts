/** Token-bucket pacing on a fake clock: the rate holds over 10 s whatever a batch costs, and idling allows no burst. */
import { describe, expect, it } from "vitest";
import {
  batchSizeFor,
  burstFor,
  type Clock,
  scheduledTime,
  TokenBucket,
} from "../../../../pipeline/ingest/synth/pacer.ts";

/** A clock that moves only when slept on, or when a "write" costs time. */
function fakeClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

async function linesIn(seconds: number, rate: number, batch: number, writeCostMs: (i: number) => number) {
  const clock = fakeClock();
  const bucket = new TokenBucket(rate, burstFor(rate, batch), clock);
  let lines = 0;
  for (let i = 0; clock.t < seconds * 1000; i++) {
    await bucket.take(batch);
    if (clock.t > seconds * 1000) break;
    lines += batch;
    clock.t += writeCostMs(i);
  }
  return lines;
}

describe("TokenBucket", () => {
  it("holds the rate within 1 % over 10 s, with free writes and with slow, uneven ones", async () => {
    // Writes that cost nothing; uneven ones; and stalls of 400 ms (a loaded machine) that the bucket makes up.
    for (const cost of [() => 0, (i: number) => (i % 7 === 0 ? 40 : 3), (i: number) => (i % 25 === 0 ? 400 : 1)]) {
      const lines = await linesIn(10, 2_000, batchSizeFor(2_000, 1_000), cost);
      expect(lines).toBeGreaterThanOrEqual(19_800);
      expect(lines).toBeLessThanOrEqual(20_200);
    }
  });

  it("allows no more than one burst after an idle spell", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1_000, 50, clock);
    clock.t += 60_000; // a minute with nothing to send
    await bucket.take(50);
    expect(clock.t).toBe(60_000); // the full bucket
    await bucket.take(50);
    expect(clock.t).toBeGreaterThanOrEqual(60_050); // then the rate again
  });

  it("stops waiting when the run is stopped", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 5, clock);
    expect(await bucket.take(5, () => true)).toBe(false);
    await expect(bucket.take(6)).rejects.toThrow(RangeError);
  });

  it("sizes batches at about 20 a second, and spaces event times by the rate", () => {
    expect(batchSizeFor(2_000, 1_000)).toBe(100);
    expect(batchSizeFor(5, 1_000)).toBe(1);
    expect(batchSizeFor(0, 1_000)).toBe(1_000);
    expect(burstFor(2_000, 100)).toBe(2_000);
    expect(burstFor(5, 100)).toBe(100);
    expect(scheduledTime(1_000, 1_000, 2_999)).toBe(3_999);
    expect(scheduledTime(0, 3, 1)).toBe(333);
  });
});
