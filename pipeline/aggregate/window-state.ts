/**
 * Event-time windows for one bus partition: pure logic, no I/O (the clock is handed in).
 *
 * Watermarks are kept per source: the largest event time seen from that source in this partition. A window
 * [start, start + size) of a source stays open until that source's watermark reaches end + allowed lateness, so an
 * older file replayed into a running daemon under its own source name is aggregated, not late as a whole. A source
 * that has sent nothing to the partition for `idleTimeout` (wall clock) has its watermark moved past its open
 * windows, which closes them. An event for a closed window is late: counted per window (late.ts), not added.
 * Windows are keyed by (kind, source, start) so every point's tag set is deterministic (DESIGN §4, §5).
 */
import type { WindowEvent } from "../model/event-scan.ts";
import { AgentFamilies, familyTags, statusClassTag } from "./agent-families.ts";
import type { LateCounts } from "./late.ts";
import { DistinctCounter, SpaceSaving } from "./sketches.ts";
import { forEachStart, type WindowSpec } from "./window-spec.ts";

export { summarize, windowPoints } from "./window-points.ts";
export { windowLabel } from "./window-spec.ts";

export interface WindowOptions {
  /** Window kinds; the first is the one the live API shows. */
  windows: WindowSpec[];
  /** Allowed lateness, ms. */
  latenessMs: number;
  /** Ranks reported in top_paths / top_hosts. */
  topK: number;
}

export class WindowState {
  count = 0;
  bytes = 0;
  status4xx = 0;
  status5xx = 0;
  readonly hosts = new DistinctCounter();
  readonly byMethod = new Map<string, number>();
  /** Keyed by status code; -1 for events without one (shown as "-"). */
  readonly byStatus = new Map<number, number>();
  /**
   * Events per (browser, OS) family index (agent-families.ts), in the order each index first came: the tag maps
   * below are folded from these (and status classes from byStatus) when read, in first-seen order as if counted per
   * event; three map updates per event were a third of `add`. A window sees a few families, so two short arrays
   * searched in order: an array of every family per window (100 doubles) was most of a small window's allocation.
   */
  private readonly familyIds: number[] = [];
  private readonly familyCounts: number[] = [];
  readonly paths: SpaceSaving;
  readonly topHosts: SpaceSaving;
  /** Lowest bus offset that contributed; the aggregate stage never commits past it while the window is open. */
  firstOffset = Number.POSITIVE_INFINITY;
  dirty = false;
  readonly end: number;

  constructor(
    readonly spec: WindowSpec,
    readonly source: string,
    readonly start: number,
    topK: number,
  ) {
    this.end = start + spec.size;
    // Ten counters per reported rank keeps the top-k exact for all but the flattest distributions.
    this.paths = new SpaceSaving(topK * 10);
    this.topHosts = new SpaceSaving(topK * 10);
  }

  /** `family`: the agent's index from AgentFamilies.indexOf. */
  add(event: WindowEvent, offset: number, family: number): void {
    this.count++;
    this.bytes += event.bytes ?? 0;
    const status = event.status;
    if (status !== null && status >= 400 && status < 500) this.status4xx++;
    else if (status !== null && status >= 500 && status < 600) this.status5xx++;
    const method = event.method ?? "-";
    this.byMethod.set(method, (this.byMethod.get(method) ?? 0) + 1);
    const statusKey = status ?? -1;
    this.byStatus.set(statusKey, (this.byStatus.get(statusKey) ?? 0) + 1);
    const ids = this.familyIds;
    let f = 0;
    while (f < ids.length && ids[f] !== family) f++;
    if (f === ids.length) {
      ids.push(family);
      this.familyCounts.push(1);
    } else this.familyCounts[f]! += 1;
    if (event.host !== null) {
      this.hosts.add(event.host);
      this.topHosts.add(event.host);
    }
    if (event.path !== null) this.paths.add(event.path);
    if (offset < this.firstOffset) this.firstOffset = offset;
    this.dirty = true;
  }

  /** Events per browser family tag (bounded), in the order each tag first came. */
  get byBrowser(): Map<string, number> {
    return this.countsBy("browser");
  }

  /** Events per OS family tag (bounded), in the order each tag first came. */
  get byOs(): Map<string, number> {
    return this.countsBy("os");
  }

  /** The (browser, OS) pair counts folded into one of their tags, in the order each tag first came. */
  private countsBy(tag: "browser" | "os"): Map<string, number> {
    const out = new Map<string, number>();
    for (let f = 0; f < this.familyIds.length; f++) {
      const value = familyTags(this.familyIds[f]!)[tag];
      out.set(value, (out.get(value) ?? 0) + this.familyCounts[f]!);
    }
    return out;
  }

  /** Events per status class ("2xx", …, "Other"), in the order each class first came. */
  get byStatusClass(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [status, count] of this.byStatus) {
      const tag = statusClassTag(status < 0 ? null : status);
      out.set(tag, (out.get(tag) ?? 0) + count);
    }
    return out;
  }
}

export class PartitionWindows {
  /** Largest event time seen per source (ms). */
  readonly watermarks = new Map<string, number>();
  /** Watermark of sources not in `watermarks` (a checkpoint from before watermarks were per source). */
  fallbackWatermark = Number.NEGATIVE_INFINITY;
  readonly open = new Map<string, WindowState>();
  /** The first kind's window of the last event added on time (what the live API remembers). */
  lastPrimary: WindowState | null = null;
  /** The window of the previous event per kind: most events fall in the same window as the one before. */
  private last: Array<WindowState | null>;
  /** Browser and OS tags per distinct agent (bounded cache). */
  private readonly families = new AgentFamilies();

  constructor(readonly options: WindowOptions) {
    this.last = options.windows.map(() => null);
  }

  watermark(source: string): number {
    return this.watermarks.get(source) ?? this.fallbackWatermark;
  }

  /** True when a window of `source` ending at `end` can no longer change. */
  isClosed(source: string, end: number): boolean {
    return end + this.options.latenessMs <= this.watermark(source);
  }

  /**
   * Adds the event to each of its windows that is still open. Returns true when it was on time for all of them;
   * each closed one is counted in `late` (when given) for that window.
   */
  add(event: WindowEvent, offset: number, late?: LateCounts): boolean {
    const { windows, latenessMs, topK } = this.options;
    const source = event.source;
    const watermark = this.watermark(source);
    const family = this.families.indexOf(event.agent);
    let onTime = true;
    this.lastPrimary = null;
    for (let k = 0; k < windows.length; k++) {
      const spec = windows[k]!;
      const cached = this.last[k];
      // Fast path: tumbling, same window as the previous event of this kind.
      if (
        cached &&
        spec.slide === spec.size &&
        cached.source === source &&
        event.ts >= cached.start &&
        event.ts < cached.end &&
        cached.end + latenessMs > watermark
      ) {
        cached.add(event, offset, family);
        if (k === 0) this.lastPrimary = cached;
        continue;
      }
      forEachStart(spec, event.ts, (start) => {
        if (start + spec.size + latenessMs <= watermark) {
          onTime = false;
          late?.count(spec.label, source, start, offset);
          return;
        }
        const key = `${spec.label}\u0000${source}\u0000${start}`;
        let state = this.open.get(key);
        if (!state) {
          state = new WindowState(spec, source, start, topK);
          this.open.set(key, state);
        }
        state.add(event, offset, family);
        this.last[k] = state;
        if (k === 0 && start === Math.floor(event.ts / spec.slide) * spec.slide) this.lastPrimary = state;
      });
    }
    if (event.ts > watermark) this.watermarks.set(source, event.ts);
    return onTime;
  }

  /**
   * Windows with changes since the last drain (to be written), and the closed ones, which are
   * forgotten here: after a drain only open windows remain in memory.
   */
  drain(): { changed: WindowState[]; closed: WindowState[] } {
    const changed: WindowState[] = [];
    const closed: WindowState[] = [];
    this.last = this.last.map(() => null);
    for (const [key, state] of this.open) {
      if (state.dirty) changed.push(state);
      if (this.isClosed(state.source, state.end)) {
        closed.push(state);
        this.open.delete(key);
      }
    }
    return { changed, closed };
  }

  /** Offset from which a restart must re-read to rebuild every open window. */
  resumeOffset(nextOffset: number): number {
    let min = nextOffset;
    for (const state of this.open.values()) if (state.firstOffset < min) min = state.firstOffset;
    return min;
  }
}
