/**
 * Space-Saving top-k (Metwally, Agrawal, El Abbadi, ICDT 2005) that merges without losing its bound (Agarwal et al.,
 * "Mergeable Summaries", PODS 2012).
 *
 * Invariants, for a sketch of capacity k summarising N events (one stream, or any tree of merges):
 * - every count is an upper bound of the item's true count, and too high by at most `floor` ≤ N/k;
 * - `count - error` is a lower bound;
 * - an item that is not kept has a true count ≤ `absentBound()` ≤ N/k, so every item with a true count > N/k is kept.
 * The merge is the one of the paper: counts are summed, an item missing from one side is given that side's bound
 * (its minimum counter when it was full), then the k largest are kept and the largest one dropped becomes the new
 * bound. Dropping the other side's minimum instead (as an earlier version did) gives counts that are too low.
 */
import { ByteReader, ByteWriter } from "./sketch-bytes.ts";

export interface Ranked {
  value: string;
  count: number;
  error: number;
}

const FORMAT = 1;

export class SpaceSaving {
  private readonly counters = new Map<string, { count: number; error: number }>();
  /** Bound on the true count of an item not kept, besides the minimum counter of a full sketch. */
  private floor = 0;
  /**
   * Items that had the smallest count when last scanned. Counts only grow and a newcomer starts above the
   * minimum, so any candidate still at `candidateCount` is a true minimum; one O(m) scan refills the list
   * with every minimum at once, which keeps replacements O(1) amortised without allocating per update.
   */
  private candidates: string[] = [];
  private candidateCount = 0;

  constructor(readonly capacity: number) {}

  /** Items kept. */
  get size(): number {
    return this.counters.size;
  }

  add(item: string, weight = 1): void {
    const slot = this.counters.get(item);
    if (slot) {
      slot.count += weight;
      return;
    }
    if (this.counters.size < this.capacity) {
      // After a merge an unseen item may already have up to `floor` events behind it.
      const count = this.floor + weight;
      this.counters.set(item, { count, error: this.floor });
      // A newcomer below the scanned minimum (a large weight never is) invalidates the candidates.
      if (count < this.candidateCount) this.candidates = [];
      return;
    }
    // Replace one of the smallest counters: the newcomer inherits its count as its error bound.
    const min = this.takeMinimum();
    this.counters.set(item, { count: min + weight, error: min });
  }

  /** Upper bound on the true count of any item that is not kept. */
  absentBound(): number {
    if (this.counters.size < this.capacity) return this.floor;
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.counters.values()) if (c.count < min) min = c.count;
    return Math.max(min, this.floor);
  }

  /** The k largest, by count then by value so the order is deterministic. */
  top(k: number): Ranked[] {
    // Insertion into a k-long sorted list: k is small (10) next to the counters (100), so this beats a sort.
    const best: Ranked[] = [];
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

  /** Merge another sketch in, keeping this one's capacity and the error bound of both (see the file header). */
  merge(other: SpaceSaving): void {
    const mine = this.absentBound();
    const theirs = other.absentBound();
    for (const [value, c] of this.counters)
      if (!other.counters.has(value)) {
        c.count += theirs;
        c.error += theirs;
      }
    for (const [value, o] of other.counters) {
      const slot = this.counters.get(value);
      if (slot) {
        slot.count += o.count;
        slot.error += o.error;
      } else this.counters.set(value, { count: o.count + mine, error: o.error + mine });
    }
    this.floor = mine + theirs;
    this.keepLargest(this.capacity);
  }

  /** Compact base64 form, at most `maxBytes` before base64; past that the smallest counters go into the bound. */
  serialize(maxBytes = 45_000): string {
    const ranked = this.ranked();
    const w = new ByteWriter();
    w.byte(FORMAT);
    w.varint(this.capacity);
    w.varint(this.floor);
    w.varint(ranked.length);
    for (const r of ranked) {
      w.text(r.value);
      w.varint(r.count);
      w.varint(r.error);
    }
    if (w.size <= maxBytes || ranked.length === 0) return w.base64();
    // Too big (very long values): the smallest tenth goes into the bound, which stays a true bound.
    const copy = SpaceSaving.fromRanked(this.capacity, this.floor, ranked);
    copy.keepLargest(Math.floor(ranked.length * 0.9));
    return copy.serialize(maxBytes);
  }

  static deserialize(text: string): SpaceSaving {
    const r = new ByteReader(text, "Space-Saving sketch");
    const format = r.byte();
    if (format !== FORMAT) throw new Error(`Space-Saving sketch: unknown format ${format}`);
    const capacity = r.varint();
    const floor = r.varint();
    const n = r.varint();
    const ranked: Ranked[] = [];
    for (let i = 0; i < n; i++) ranked.push({ value: r.text(), count: r.varint(), error: r.varint() });
    r.end();
    return SpaceSaving.fromRanked(capacity, floor, ranked);
  }

  /**
   * Every counter in `top` order. One sort (the order is total: values are distinct), where `top(size)`'s
   * insertion is quadratic: with 100 counters it was a quarter of the file-to-aggregates path (serialize per window).
   */
  private ranked(): Ranked[] {
    const all: Ranked[] = [];
    for (const [value, c] of this.counters) all.push({ value, count: c.count, error: c.error });
    return all.sort(byRank);
  }

  private static fromRanked(capacity: number, floor: number, ranked: Ranked[]): SpaceSaving {
    const s = new SpaceSaving(Math.max(capacity, ranked.length));
    s.floor = floor;
    for (const { value, count, error } of ranked) s.counters.set(value, { count, error });
    return s;
  }

  /** Keeps the `n` largest; the largest count dropped becomes part of the bound for items not kept. */
  private keepLargest(n: number): void {
    this.candidates = [];
    if (this.counters.size <= n) return;
    const all = this.ranked();
    this.counters.clear();
    for (const k of all.slice(0, n)) this.counters.set(k.value, { count: k.count, error: k.error });
    this.floor = Math.max(this.floor, all[n]!.count);
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

function byRank(a: Ranked, b: Ranked): number {
  if (a.count !== b.count) return b.count - a.count;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
