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

/** Sketches up to this many items find an item by a scan of their counters, with no map. */
const SCAN_LIMIT = 8;

export class SpaceSaving {
  /**
   * The counters, three entries each (item, count, error) in one array; counter `s` is at 3·s. A window holds two
   * sketches until it closes, and most windows hold a few items: an object per counter, a map per sketch, or an
   * array per field were most of what the aggregate's scavenges copied and promoted (docs/benchmarks.md). A
   * replaced item takes its victim's counter.
   */
  private e: Array<string | number> = [];
  /** Item to counter, once there are more than SCAN_LIMIT; before that, null. */
  private slots: Map<string, number> | null = null;
  /** Bound on the true count of an item not kept, besides the minimum counter of a full sketch. */
  private floor = 0;
  /**
   * Counters that had the smallest count when last scanned. Counts only grow and a newcomer starts above the
   * minimum, so any candidate still at `candidateCount` is a true minimum; one O(m) scan refills the list
   * with every minimum at once, which keeps replacements O(1) amortised without allocating per update.
   */
  private candidates: number[] | null = null;
  private candidateCount = 0;

  constructor(readonly capacity: number) {}

  /** Items kept. */
  get size(): number {
    return this.e.length / 3;
  }

  add(item: string, weight = 1): void {
    const s = this.find(item);
    if (s >= 0) {
      this.bump(s, weight, 0);
      return;
    }
    if (this.size < this.capacity) {
      // After a merge an unseen item may already have up to `floor` events behind it.
      const count = this.floor + weight;
      this.push(item, count, this.floor);
      // A newcomer below the scanned minimum (a large weight never is) invalidates the candidates.
      if (count < this.candidateCount) this.candidates = null;
      return;
    }
    // Replace one of the smallest counters: the newcomer inherits its count as its error bound.
    const victim = this.takeMinimum();
    const min = this.count(victim);
    this.slots?.delete(this.item(victim));
    this.slots?.set(item, victim);
    this.e[3 * victim] = item;
    this.e[3 * victim + 1] = min + weight;
    this.e[3 * victim + 2] = min;
  }

  /** Upper bound on the true count of any item that is not kept. */
  absentBound(): number {
    if (this.size < this.capacity) return this.floor;
    return Math.max(this.minimum(), this.floor);
  }

  /** The k largest, by count then by value so the order is deterministic. */
  top(k: number): Ranked[] {
    // Insertion into a k-long sorted list: k is small (10) next to the counters (100), so this beats a sort.
    const best: number[] = [];
    const n = this.size;
    for (let s = 0; s < n; s++) {
      if (best.length === k && !this.ranksBefore(s, best[k - 1]!)) continue;
      let i = best.length === k ? k - 1 : best.length;
      while (i > 0 && this.ranksBefore(s, best[i - 1]!)) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = s;
    }
    return best.map((s) => ({ value: this.item(s), count: this.count(s), error: this.error(s) }));
  }

  /** Merge another sketch in, keeping this one's capacity and the error bound of both (see the file header). */
  merge(other: SpaceSaving): void {
    const mine = this.absentBound();
    const theirs = other.absentBound();
    const n = this.size;
    for (let s = 0; s < n; s++) if (other.find(this.item(s)) < 0) this.bump(s, theirs, theirs);
    for (let o = 0; o < other.size; o++) {
      const value = other.item(o);
      const s = this.find(value);
      if (s >= 0) this.bump(s, other.count(o), other.error(o));
      else this.push(value, other.count(o) + mine, other.error(o) + mine);
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
      w.text(this.item(s));
      w.varint(this.count(s));
      w.varint(this.error(s));
    }
    if (w.size <= maxBytes || order.length === 0) return w.base64();
    // Too big (very long values): the smallest tenth goes into the bound, which stays a true bound.
    const copy = new SpaceSaving(this.capacity);
    copy.floor = this.floor;
    for (let s = 0; s < this.size; s++) copy.push(this.item(s), this.count(s), this.error(s));
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
      if (s.find(value) >= 0) throw new Error(`Space-Saving sketch: "${value}" is counted twice`);
      s.push(value, count, error);
    }
    r.end();
    return s;
  }

  private item(s: number): string {
    return this.e[3 * s] as string;
  }

  private count(s: number): number {
    return this.e[3 * s + 1] as number;
  }

  private error(s: number): number {
    return this.e[3 * s + 2] as number;
  }

  private bump(s: number, count: number, error: number): void {
    (this.e[3 * s + 1] as number) += count;
    (this.e[3 * s + 2] as number) += error;
  }

  /** The item's counter, or -1. */
  private find(item: string): number {
    if (this.slots) return this.slots.get(item) ?? -1;
    const e = this.e;
    for (let i = 0; i < e.length; i += 3) if (e[i] === item) return i / 3;
    return -1;
  }

  private push(item: string, count: number, error: number): void {
    const s = this.size;
    this.e.push(item, count, error);
    if (this.slots) this.slots.set(item, s);
    else if (s + 1 > SCAN_LIMIT) {
      this.slots = new Map();
      for (let i = 0; i <= s; i++) this.slots.set(this.item(i), i);
    }
  }

  /**
   * Every counter in `top` order. Insertion sort for the few counters most windows have; one sort for many (the
   * order is total: values are distinct), where `top(size)`'s insertion is quadratic: with 100 counters it was a
   * quarter of the file-to-aggregates path (serialize per window).
   */
  private ranked(): number[] {
    const n = this.size;
    const order: number[] = [];
    if (n > 16) {
      for (let s = 0; s < n; s++) order.push(s);
      return order.sort((a, b) => (a === b ? 0 : this.ranksBefore(a, b) ? -1 : 1));
    }
    for (let s = 0; s < n; s++) {
      let i = s;
      while (i > 0 && this.ranksBefore(s, order[i - 1]!)) {
        order[i] = order[i - 1]!;
        i--;
      }
      order[i] = s;
    }
    return order;
  }

  /** Larger count first; equal counts by value, so every ranking is deterministic. */
  private ranksBefore(a: number, b: number): boolean {
    const ca = this.count(a);
    const cb = this.count(b);
    return ca > cb || (ca === cb && this.item(a) < this.item(b));
  }

  /** Keeps the `n` largest; the largest count dropped becomes part of the bound for items not kept. */
  private keepLargest(n: number): void {
    this.candidates = null;
    if (this.size <= n) return;
    const order = this.ranked();
    this.floor = Math.max(this.floor, this.count(order[n]!));
    const kept: Array<string | number> = [];
    for (let i = 0; i < n; i++) kept.push(this.item(order[i]!), this.count(order[i]!), this.error(order[i]!));
    this.e = [];
    this.slots = null;
    for (let i = 0; i < kept.length; i += 3) this.push(kept[i] as string, kept[i + 1] as number, kept[i + 2] as number);
  }

  private minimum(): number {
    let min = Number.POSITIVE_INFINITY;
    for (let s = 0; s < this.size; s++) if (this.count(s) < min) min = this.count(s);
    return min;
  }

  /** A counter with the minimum count (the caller replaces its item). */
  private takeMinimum(): number {
    for (;;) {
      const candidates = this.candidates;
      // A candidate whose count grew since the scan is no longer a minimum. A taken one leaves the list: its
      // newcomer's count is above the minimum.
      while (candidates && candidates.length > 0) {
        const s = candidates.pop()!;
        if (this.count(s) === this.candidateCount) return s;
      }
      const min = this.minimum();
      this.candidateCount = min;
      const fresh: number[] = [];
      for (let s = 0; s < this.size; s++) if (this.count(s) === min) fresh.push(s);
      this.candidates = fresh;
    }
  }
}
