/**
 * Bounded-memory, mergeable sketches for the aggregate stage (DESIGN §4 "Back-pressure, bounded memory").
 *
 * - SpaceSaving: top-k heavy hitters (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent and
 *   Top-k Elements in Data Streams", ICDT 2005). With m counters every item of true frequency > N/m is kept,
 *   and each count overestimates by at most its recorded error.
 * - DistinctCounter: exact set while small, then HyperLogLog (Flajolet et al. 2007) with 2^14 registers
 *   (~0.8 % standard error) and linear counting for small ranges.
 */

export class SpaceSaving {
  private readonly counters = new Map<string, { count: number; error: number }>();
  /**
   * Items that had the smallest count when last scanned. Counts only grow and a newcomer starts above the
   * minimum, so any candidate still at `candidateCount` is a true minimum; one O(m) scan refills the list
   * with every minimum at once, which keeps replacements O(1) amortised without allocating per update.
   */
  private candidates: string[] = [];
  private candidateCount = 0;

  constructor(readonly capacity: number) {}

  add(item: string, weight = 1): void {
    const slot = this.counters.get(item);
    if (slot) {
      slot.count += weight;
      return;
    }
    if (this.counters.size < this.capacity) {
      this.counters.set(item, { count: weight, error: 0 });
      // A newcomer below the scanned minimum (a large weight never is) invalidates the candidates.
      if (weight < this.candidateCount) this.candidates = [];
      return;
    }
    // Replace one of the smallest counters: the newcomer inherits its count as its error bound.
    const min = this.takeMinimum();
    this.counters.set(item, { count: min + weight, error: min });
  }

  /** The k largest, by count then by value so the order is deterministic. */
  top(k: number): Array<{ value: string; count: number; error: number }> {
    // Insertion into a k-long sorted list: k is small (10) next to the counters (100), so this beats a sort.
    const best: Array<{ value: string; count: number; error: number }> = [];
    for (const [value, c] of this.counters) {
      if (best.length === k && !ranksBefore(c.count, value, best[k - 1]!)) continue;
      let i = best.length === k ? k - 1 : best.length;
      while (i > 0 && ranksBefore(c.count, value, best[i - 1]!)) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = { value, count: c.count, error: c.error };
    }
    return best;
  }

  /** Merge another sketch in (sums counts; keeps the capacity largest). */
  merge(other: SpaceSaving): void {
    for (const { value, count, error } of other.top(other.capacity)) {
      const slot = this.counters.get(value);
      if (slot) {
        slot.count += count;
        slot.error += error;
      } else this.counters.set(value, { count, error });
    }
    if (this.counters.size > this.capacity) {
      const keep = this.top(this.capacity);
      this.counters.clear();
      for (const k of keep) this.counters.set(k.value, { count: k.count, error: k.error });
    }
    this.candidates = [];
  }

  /** Removes one minimum counter and returns its count. */
  private takeMinimum(): number {
    for (;;) {
      while (this.candidates.length > 0) {
        const value = this.candidates.pop()!;
        const c = this.counters.get(value);
        if (c !== undefined && c.count === this.candidateCount) {
          this.counters.delete(value);
          return c.count;
        }
      }
      let min = Number.POSITIVE_INFINITY;
      for (const c of this.counters.values()) if (c.count < min) min = c.count;
      this.candidateCount = min;
      for (const [value, c] of this.counters) if (c.count === min) this.candidates.push(value);
    }
  }
}

/** Larger count first; equal counts by value, so every ranking is deterministic. */
function ranksBefore(count: number, value: string, other: { value: string; count: number }): boolean {
  return count > other.count || (count === other.count && value < other.value);
}

const HLL_P = 14;
const HLL_M = 1 << HLL_P;
const EXACT_LIMIT = 4096;

/** 32-bit FNV-1a followed by murmur3's fmix32 finaliser, for well-spread bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class DistinctCounter {
  private exact: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;

  add(item: string): void {
    if (this.exact) {
      this.exact.add(item);
      if (this.exact.size > EXACT_LIMIT) this.toSketch();
      return;
    }
    this.addHashed(hash32(item));
  }

  count(): number {
    if (this.exact) return this.exact.size;
    const regs = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      sum += 2 ** -regs[i]!;
      if (regs[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const estimate = (alpha * HLL_M * HLL_M) / sum;
    if (estimate <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
    return Math.round(estimate);
  }

  merge(other: DistinctCounter): void {
    if (this.exact && other.exact) {
      for (const item of other.exact) this.add(item);
      return;
    }
    if (this.exact) this.toSketch();
    if (other.exact) {
      for (const item of other.exact) this.addHashed(hash32(item));
      return;
    }
    const mine = this.registers!;
    const theirs = other.registers!;
    for (let i = 0; i < HLL_M; i++) if (theirs[i]! > mine[i]!) mine[i] = theirs[i]!;
  }

  private toSketch(): void {
    const items = this.exact!;
    this.exact = null;
    this.registers = new Uint8Array(HLL_M);
    for (const item of items) this.addHashed(hash32(item));
  }

  private addHashed(h: number): void {
    const index = h >>> (32 - HLL_P);
    const rest = (h << HLL_P) >>> 0;
    const rank = rest === 0 ? 32 - HLL_P + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers![index]!) this.registers![index] = rank;
  }
}
