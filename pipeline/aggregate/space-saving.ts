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
  /**
   * The counters in parallel arrays, one slot each: a window holds two sketches until it closes, and an object per
   * counter was much of what the aggregate's scavenges copied and promoted (docs/benchmarks.md). A replaced item
   * takes its victim's slot.
   */
  private readonly slots = new Map<string, number>();
  private items: string[] = [];
  private counts: number[] = [];
  private errors: number[] = [];
  /** Bound on the true count of an item not kept, besides the minimum counter of a full sketch. */
  private floor = 0;
  /**
   * Slots that had the smallest count when last scanned. Counts only grow and a newcomer starts above the
   * minimum, so any candidate still at `candidateCount` is a true minimum; one O(m) scan refills the list
   * with every minimum at once, which keeps replacements O(1) amortised without allocating per update.
   */
  private candidates: number[] = [];
  private candidateCount = 0;

  constructor(readonly capacity: number) {}

  /** Items kept. */
  get size(): number {
    return this.items.length;
  }

  add(item: string, weight = 1): void {
    const slot = this.slots.get(item);
    if (slot !== undefined) {
      this.counts[slot]! += weight;
      return;
    }
    if (this.items.length < this.capacity) {
      // After a merge an unseen item may already have up to `floor` events behind it.
      const count = this.floor + weight;
      this.push(item, count, this.floor);
      // A newcomer below the scanned minimum (a large weight never is) invalidates the candidates.
      if (count < this.candidateCount) this.candidates.length = 0;
      return;
    }
    // Replace one of the smallest counters: the newcomer inherits its count as its error bound.
    const victim = this.takeMinimum();
    const min = this.counts[victim]!;
    this.slots.delete(this.items[victim]!);
    this.slots.set(item, victim);
    this.items[victim] = item;
    this.counts[victim] = min + weight;
    this.errors[victim] = min;
  }

  /** Upper bound on the true count of any item that is not kept. */
  absentBound(): number {
    if (this.items.length < this.capacity) return this.floor;
    return Math.max(this.minimum(), this.floor);
  }

  /** The k largest, by count then by value so the order is deterministic. */
  top(k: number): Ranked[] {
    // Insertion of slots into a k-long sorted list: k is small (10) next to the counters (100), so this beats a sort.
    const best: number[] = [];
    const n = this.items.length;
    for (let s = 0; s < n; s++) {
      if (best.length === k && !this.ranksBefore(s, best[k - 1]!)) continue;
      let i = best.length === k ? k - 1 : best.length;
      while (i > 0 && this.ranksBefore(s, best[i - 1]!)) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = s;
    }
    return best.map((s) => ({ value: this.items[s]!, count: this.counts[s]!, error: this.errors[s]! }));
  }

  /** Merge another sketch in, keeping this one's capacity and the error bound of both (see the file header). */
  merge(other: SpaceSaving): void {
    const mine = this.absentBound();
    const theirs = other.absentBound();
    const n = this.items.length;
    for (let s = 0; s < n; s++)
      if (!other.slots.has(this.items[s]!)) {
        this.counts[s]! += theirs;
        this.errors[s]! += theirs;
      }
    for (let o = 0; o < other.items.length; o++) {
      const value = other.items[o]!;
      const slot = this.slots.get(value);
      if (slot !== undefined) {
        this.counts[slot]! += other.counts[o]!;
        this.errors[slot]! += other.errors[o]!;
      } else this.push(value, other.counts[o]! + mine, other.errors[o]! + mine);
    }
    this.floor = mine + theirs;
    this.keepLargest(this.capacity);
  }

  /** Compact base64 form, at most `maxBytes` before base64; past that the smallest counters go into the bound. */
  serialize(maxBytes = 45_000): string {
    const order = this.ranked();
    const w = ByteWriter.shared();
    w.byte(FORMAT);
    w.varint(this.capacity);
    w.varint(this.floor);
    w.varint(order.length);
    for (const s of order) {
      w.text(this.items[s]!);
      w.varint(this.counts[s]!);
      w.varint(this.errors[s]!);
    }
    if (w.size <= maxBytes || order.length === 0) return w.base64();
    // Too big (very long values): the smallest tenth goes into the bound, which stays a true bound.
    const copy = this.copy();
    copy.keepLargest(Math.floor(order.length * 0.9));
    return copy.serialize(maxBytes);
  }

  static deserialize(text: string): SpaceSaving {
    const r = new ByteReader(text, "Space-Saving sketch");
    const format = r.byte();
    if (format !== FORMAT) throw new Error(`Space-Saving sketch: unknown format ${format}`);
    const capacity = r.varint();
    const floor = r.varint();
    const n = r.varint();
    const s = new SpaceSaving(Math.max(capacity, n));
    s.floor = floor;
    for (let i = 0; i < n; i++) {
      const value = r.text();
      const count = r.varint();
      const error = r.varint();
      if (s.slots.has(value)) throw new Error(`Space-Saving sketch: "${value}" is counted twice`);
      s.push(value, count, error);
    }
    r.end();
    return s;
  }

  /**
   * Every slot in `top` order. One sort (the order is total: values are distinct), where `top(size)`'s
   * insertion is quadratic: with 100 counters it was a quarter of the file-to-aggregates path (serialize per window).
   */
  private ranked(): number[] {
    const order: number[] = [];
    for (let s = 0; s < this.items.length; s++) order.push(s);
    return order.sort((a, b) => (a === b ? 0 : this.ranksBefore(a, b) ? -1 : 1));
  }

  /** Larger count first; equal counts by value, so every ranking is deterministic. */
  private ranksBefore(a: number, b: number): boolean {
    const ca = this.counts[a]!;
    const cb = this.counts[b]!;
    return ca > cb || (ca === cb && this.items[a]! < this.items[b]!);
  }

  private push(item: string, count: number, error: number): void {
    this.slots.set(item, this.items.length);
    this.items.push(item);
    this.counts.push(count);
    this.errors.push(error);
  }

  private copy(): SpaceSaving {
    const s = new SpaceSaving(this.capacity);
    s.floor = this.floor;
    for (let i = 0; i < this.items.length; i++) s.push(this.items[i]!, this.counts[i]!, this.errors[i]!);
    return s;
  }

  /** Keeps the `n` largest; the largest count dropped becomes part of the bound for items not kept. */
  private keepLargest(n: number): void {
    this.candidates.length = 0;
    if (this.items.length <= n) return;
    const order = this.ranked();
    const { items, counts, errors } = this;
    this.floor = Math.max(this.floor, counts[order[n]!]!);
    this.slots.clear();
    this.items = [];
    this.counts = [];
    this.errors = [];
    for (let i = 0; i < n; i++) this.push(items[order[i]!]!, counts[order[i]!]!, errors[order[i]!]!);
  }

  private minimum(): number {
    let min = Number.POSITIVE_INFINITY;
    for (let s = 0; s < this.counts.length; s++) if (this.counts[s]! < min) min = this.counts[s]!;
    return min;
  }

  /** A slot with the minimum count (the caller replaces its item). */
  private takeMinimum(): number {
    for (;;) {
      while (this.candidates.length > 0) {
        const s = this.candidates.pop()!;
        // A candidate whose count grew since the scan is no longer a minimum.
        if (this.counts[s] === this.candidateCount) {
          // The newcomer's count is above the minimum: the slot leaves the candidates for good.
          return s;
        }
      }
      const min = this.minimum();
      this.candidateCount = min;
      for (let s = 0; s < this.counts.length; s++) if (this.counts[s] === min) this.candidates.push(s);
    }
  }
}
