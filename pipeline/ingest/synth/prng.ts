/**
 * A small seeded PRNG (mulberry32) and the two samplers the synthetic log needs. Every generated line seeds its
 * own generator from (seed, line index), so line i is the same whichever line a run starts at (a restart resumes
 * without replaying the lines before it).
 */

/** A PRNG: each call gives a float in [0, 1). */
export type Random = () => number;

/** mulberry32 (Tommy Ettinger, public domain): 32-bit state, passes gjrand's tests at this size, a few lines. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes two 32-bit values into one (murmur3's finaliser), so nearby line indexes get unrelated streams. */
export function mix32(a: number, b: number): number {
  let h = (Math.imul(a >>> 0, 0x9e3779b1) ^ (b >>> 0)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The PRNG of line `index` for `seed` (indexes beyond 2^32 fold their high part in). */
export function lineRandom(seed: number, index: number): Random {
  const hi = Math.floor(index / 4294967296);
  return mulberry32(mix32(mix32(seed, hi), index >>> 0));
}

/** An integer in [0, n). */
export function below(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** One element, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[below(random, items.length)]!;
}

/**
 * Ranks 0..n-1 with P(k) ∝ 1/(k+1)^s (Zipf), by binary search in the cumulative weights: O(log n) per draw,
 * and n floats of memory (a site map or a client population, a few thousand entries).
 */
export class Zipf {
  private readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    s = 1,
  ) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / (k + 1) ** s;
      this.cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k]! /= sum;
  }

  sample(random: Random): number {
    const u = random();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Picks from weighted choices, e.g. `[[0.9, "GET"], [0.1, "POST"]]` (weights need not sum to 1). */
export function weighted<T>(random: Random, choices: readonly (readonly [number, T])[]): T {
  let total = 0;
  for (const [w] of choices) total += w;
  let u = random() * total;
  for (const [w, v] of choices) {
    u -= w;
    if (u < 0) return v;
  }
  return choices[choices.length - 1]![1];
}
