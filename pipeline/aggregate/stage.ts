/**
 * The aggregate consumer group: LogEvents → event-time windows → SeriesStore, idempotently.
 *
 * Every flush writes the windows that changed (their points carry the window start and deterministic tags, so a
 * rewrite overwrites), then commits, per partition, the lowest offset of any still-open window together with a
 * checkpoint {c: next offset processed, ws: watermark per source} in the commit metadata. A restart re-reads from
 * that offset and so rebuilds every open window completely; with the watermarks restored, events before `c` whose
 * windows had already closed are recognised as accounted for and skipped, so nothing is counted twice. Until the
 * re-read passes `c` a flush neither writes nor commits: the windows are still partial. Late events
 * are counted per window in the `late` measurement (late.ts), exactly across restarts too. A checkpoint written
 * before watermarks were per source ({c, w}) is read with `w` as every source's watermark.
 */
import type { Context } from "../../connectors/context.ts";
import { isLogbenchError } from "../../connectors/errors.ts";
import { columnsOfPoints, writeSeriesColumns } from "../../connectors/series-columns.ts";
import type {
  Bus,
  BusMessage,
  CommittedOffset,
  SeriesColumns,
  SeriesStore,
  Subscription,
} from "../../connectors/types.ts";
import type { Config } from "../config/schema.ts";
import { decodeEvent } from "../model/decode-event.ts";
import { scanWindowEvent, type WindowEvent } from "../model/event-scan.ts";
import { MEASUREMENTS, type WindowSummary } from "../model/window.ts";
import type { BusLosses } from "../observe/bus-losses.ts";
import { retryWhileRunning } from "../retry.ts";
import { LateCounts } from "./late.ts";
import { summarize, WindowColumns } from "./window-points.ts";
import { type WindowSpec, windowSpecs } from "./window-spec.ts";
import { PartitionWindows, type WindowState } from "./window-state.ts";

interface PartitionState {
  windows: PartitionWindows;
  late: LateCounts;
  /** Next offset to process. */
  next: number;
  /** Offsets below this were processed before the restart. */
  replayUntil: number;
  lock: Promise<void>;
  /** The window last handed to remember() (the live API's list). */
  remembered: WindowState | null;
  /** Writes of this partition's flushes, one after the other (a flush's batches go on while its write runs). */
  writing: Promise<void>;
  /** Flush writes queued or running (each one's end must not say "none" while a later one is still queued). */
  inFlight: number;
  /** Events added since the last flush took its snapshot (bounds what a slow write lets pile up). */
  sinceSnapshot: number;
  /** A write failed for good: nothing after it may be written or committed (the daemon is stopping). */
  broken: boolean;
  /**
   * Wall time of the last batch with an event of each source, for closing idle sources' windows. Kept here and not
   * by PartitionWindows.closeIdle, which knows a source's first batch after each drain only: with batches going on
   * during a write that retried for longer than idleTimeout, a source that never paused looked idle, all its windows
   * were closed, and the rest of its events in them were counted late (the influx-outage e2e's missing lines).
   */
  seen: Map<string, number>;
  /**
   * The partition's last readable offset, read from the bus at `endAt` (wall time) once a source looked idle: a
   * source is only closed while its partition has nothing left unread, since a consumer that fell behind (a slow
   * write, a rejoin under load) gets no batches for a while although its sources never stopped.
   */
  end: { last: number; at: number } | null;
}

/** A partition's state as assigned: nothing written or in flight yet; `lock` and `writing` may carry over. */
function partitionState(
  windows: PartitionWindows,
  late: LateCounts,
  next: number,
  replayUntil: number,
  lock: Promise<void> = Promise.resolve(),
  writing: Promise<void> = Promise.resolve(),
): PartitionState {
  return {
    windows,
    late,
    next,
    replayUntil,
    lock,
    remembered: null,
    writing,
    inFlight: 0,
    sinceSnapshot: 0,
    broken: false,
    seen: new Map(),
    end: null,
  };
}

/** What one flush writes and commits, taken from the windows at one instant. */
interface FlushSnapshot {
  /** The changed windows' series and the late counts, in columns (no object per point lives across the write). */
  columns: SeriesColumns[];
  /** Rows of `columns`. */
  points: number;
  changed: boolean;
  next: number;
  resume: number;
  checkpoint: Checkpoint;
}

/** Kept in the aggregate group's commit metadata: next offset processed, and the watermarks then. */
export interface Checkpoint {
  c: number;
  /** The largest watermark (what checkpoints held before watermarks were per source). */
  w: number | null;
  /** Watermark per source. */
  ws?: Record<string, number>;
}

/** Window starts kept for the live API. */
const RECENT_WINDOWS = 120;
/** The live view hears about new events at most this often, without waiting for a flush (which writes first). */
const LIVE_MS = 100;
/**
 * Batches go on while a flush writes, up to this many events past its snapshot; then they wait for the write (a
 * slow or failing sink slows consumption, and the windows held in memory stay bounded). With no write running,
 * that many events held start one at once, without waiting for the flush tick.
 */
const MAX_EVENTS_DURING_WRITE = 5_000;

export interface AggregateStageDeps {
  bus: Bus;
  series: SeriesStore;
  topic: string;
  config: Config["aggregator"];
  ctx: Context;
  /** A timed flush failed for good: the daemon must stop (it would fail the same way again). */
  onFatal: (err: unknown) => void;
  /** Where offsets lost to the bus's retention are reported (logged, counted, shown by /healthz). */
  losses?: BusLosses;
}

export class AggregateStage {
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly partitions = new Map<number, PartitionState>();
  /** A timed flush failed for good; the daemon is stopping. */
  private failed = false;
  /** window start → (partition:source → state), for the live API. */
  private readonly recent = new Map<number, Map<string, { partition: number; state: WindowState }>>();
  private readonly listeners = new Set<(windows: WindowSummary[]) => void>();
  private readonly liveListeners = new Set<(windows: WindowSummary[]) => void>();
  private liveTimer: NodeJS.Timeout | null = null;
  private readonly specs: WindowSpec[];
  /** A read of the partitions' ends in flight (readEndsIfIdle), and whether one failed already. */
  private readingEnds: Promise<void> | null = null;
  private endsFailed = false;

  constructor(private readonly deps: AggregateStageDeps) {
    this.specs = windowSpecs(deps.config);
    const m = deps.ctx.metrics;
    m.describe("logbench_aggregate_received_total", "counter", "Events read from the bus by the aggregator");
    m.describe("logbench_aggregate_sent_total", "counter", "Series points written");
    m.describe("logbench_aggregate_late_total", "counter", "Events too late for their window (kept in the archive)");
    m.describe("logbench_aggregate_errors_total", "counter", "Series write failures, by code");
    m.describe(
      "logbench_aggregate_discarded_total",
      "counter",
      "Bus messages that are not LogEvents (dead-lettered by the archive)",
    );
    m.describe("logbench_aggregate_watermark_ms", "gauge", "Event-time watermark per partition (its newest source)");
  }

  async start(): Promise<Subscription> {
    const { bus, topic, config } = this.deps;
    this.subscription = await bus.subscribe({
      topic,
      group: config.group,
      onAssigned: async (assigned) => this.onAssigned(assigned),
      onBatch: (partition, messages) =>
        this.withLock(partition, async () => {
          const st = this.state(partition);
          if (st.sinceSnapshot >= MAX_EVENTS_DURING_WRITE) {
            // Held windows stay bounded between ticks too: a reader catching up reads far more than this in a
            // flush interval (a 128 MB heap ran out at 1 M lines, holding about 100 k points of one snapshot).
            if (st.inFlight > 0) await st.writing;
            else if (!this.failed) this.track(this.startWrite(partition));
          }
          this.onBatch(partition, messages);
        }),
      onLost: this.deps.losses?.hook(config.group, topic),
      onRevoked: async (partitions) => {
        await Promise.all(partitions.map((p) => this.withLock(p, () => this.flush(p))));
        for (const p of partitions) this.partitions.delete(p);
      },
    });
    this.timer = setInterval(() => {
      this.readEndsIfIdle();
      for (const [p, st] of this.partitions) {
        if (st.inFlight > 0) continue; // the next tick after that write takes the next snapshot
        // The lock is held for the snapshot only: the partition's batches go on while the write runs.
        // (wrapped, so that the lock does not wait for the write promise it would otherwise adopt)
        this.track(
          this.withLock(p, () => (this.failed ? null : { written: this.startWrite(p) })).then(
            (started) => started?.written,
          ),
        );
      }
    }, config.flushInterval);
    return this.subscription;
  }

  /** A write started by a tick or by a full batch: one that failed for good stops the daemon. */
  private track(written: Promise<unknown>): void {
    written.catch((err) => {
      // Retryable failures were retried inside the write; the offset was not committed, so a restart
      // rebuilds these windows from the bus. Flushes queued by earlier ticks must not write again.
      if (this.failed) return;
      this.failed = true;
      if (this.timer) clearInterval(this.timer);
      this.deps.onFatal(err);
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = null;
    await this.subscription?.stop();
  }

  /** The newest windows first, merged over this daemon's partitions and sources. */
  windows(limit = 30): WindowSummary[] {
    const { topK } = this.deps.config;
    // A reassigned partition's states are dropped from `recent` (onAssigned): a start may have none left.
    return [...this.recent.keys()]
      .filter((start) => this.recent.get(start)!.size > 0)
      .sort((a, b) => b - a)
      .slice(0, limit)
      .map((start) => {
        const members = [...this.recent.get(start)!.values()];
        const closed = members.every(
          ({ partition, state }) => this.partitions.get(partition)?.windows.isClosed(state.source, state.end) ?? true,
        );
        return summarize(
          members.map((m) => m.state),
          this.specs[0]!,
          topK,
          closed,
        );
      });
  }

  /** Called after every flush that wrote something (alerts listen). */
  onFlush(listener: (windows: WindowSummary[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The live view (the SSE stream): called after every flush that wrote something, and within LIVE_MS of new
   * events, so a line shows before its window is written (the flush interval is seconds, a write can take more).
   */
  onWindows(listener: (windows: WindowSummary[]) => void): () => void {
    this.listeners.add(listener);
    this.liveListeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.liveListeners.delete(listener);
    };
  }

  private liveSoon(): void {
    if (this.liveTimer || this.liveListeners.size === 0) return;
    this.liveTimer = setTimeout(() => {
      this.liveTimer = null;
      const windows = this.windows();
      for (const l of this.liveListeners) l(windows);
    }, LIVE_MS);
    this.liveTimer.unref();
  }

  private async onAssigned(assigned: Array<{ partition: number; committed: CommittedOffset | null }>) {
    for (const { partition, committed } of assigned) {
      const windows = this.newWindows();
      const checkpoint = parseCheckpoint(committed?.metadata ?? null);
      // States from an earlier assignment of this partition are rebuilt from the bus; stop showing them.
      for (const members of this.recent.values())
        for (const [key, m] of members) if (m.partition === partition) members.delete(key);
      if (checkpoint?.ws) for (const [source, w] of Object.entries(checkpoint.ws)) windows.watermarks.set(source, w);
      else if (checkpoint?.w !== null && checkpoint?.w !== undefined) windows.fallbackWatermark = checkpoint.w;
      const late = new LateCounts(partition);
      // Late counts go on from what earlier runs wrote (late.ts says why that is exact).
      await this.retrying(async () =>
        late.load(
          await this.deps.series.query({ measurement: MEASUREMENTS.late, tags: { partition: String(partition) } }),
        ),
      );
      // The lock and the write queue carry over: a batch or write of the previous assignment may still run.
      const before = this.partitions.get(partition);
      this.partitions.set(
        partition,
        partitionState(windows, late, committed?.offset ?? 0, checkpoint?.c ?? 0, before?.lock, before?.writing),
      );
    }
  }

  private onBatch(partition: number, messages: BusMessage[]): void {
    const st = this.state(partition);
    let late = 0;
    let bad = 0;
    const now = Date.now();
    let source: string | null = null;
    st.late.countFrom = st.replayUntil;
    for (const msg of messages) {
      st.next = msg.offset + 1;
      // Logbench's own encoding is read without JSON.parse; anything else is decoded and checked.
      let event: WindowEvent | null = scanWindowEvent(msg.value);
      if (!event) {
        const decoded = decodeEvent(msg);
        if ("reason" in decoded) {
          // The archive group puts it in the dead letters; here it only cannot be counted.
          bad++;
          continue;
        }
        event = decoded.event;
      }
      if (event.source !== source) {
        source = event.source;
        st.seen.set(source, now);
      }
      const onTime = st.windows.add(event, msg.offset, st.late);
      const primary = st.windows.lastPrimary;
      // Most events fall in the window of the event before: remember each window once, not once per event.
      if (primary && primary !== st.remembered) {
        this.remember(partition, primary);
        st.remembered = primary;
      }
      if (!onTime && msg.offset >= st.replayUntil) late++;
    }
    st.sinceSnapshot += messages.length;
    this.liveSoon();
    const labels = { topic: this.deps.topic };
    this.deps.ctx.metrics.inc("logbench_aggregate_received_total", labels, messages.length);
    if (late) this.deps.ctx.metrics.inc("logbench_aggregate_late_total", labels, late);
    if (bad) this.deps.ctx.metrics.inc("logbench_aggregate_discarded_total", labels, bad);
  }

  private remember(partition: number, state: WindowState): void {
    const start = state.start;
    let members = this.recent.get(start);
    if (!members) {
      members = new Map();
      this.recent.set(start, members);
      if (this.recent.size > RECENT_WINDOWS) {
        const oldest = Math.min(...this.recent.keys());
        this.recent.delete(oldest);
      }
    }
    const key = `${partition}\u0000${state.source}`;
    if (!members.has(key)) members.set(key, { partition, state });
  }

  /** Writes and commits everything up to now, after any write in flight (revoke, stop). Call under the lock. */
  private async flush(partition: number): Promise<void> {
    const st = this.partitions.get(partition);
    if (!st) return;
    await st.writing;
    await this.startWrite(partition);
  }

  /**
   * Takes a snapshot of the partition's changed windows, late counts, offset and watermarks (synchronously, under
   * the lock), and queues its write and commit after the partition's previous one. Windows are marked written at
   * the snapshot, so events added while the write runs make them dirty again for the next flush; the commit carries
   * the snapshot's offset and watermarks, never those of events added since.
   */
  private startWrite(partition: number): Promise<void> {
    const st = this.partitions.get(partition);
    if (!st) return Promise.resolve();
    // Still re-reading what the checkpoint says was written: the rebuilt windows hold only part of their events, so
    // writing them would put smaller counts over complete ones (and cost a write per flush for nothing while a
    // restart re-reads lateness + window of the bus), and the commit would be the same offset again.
    if (st.next < st.replayUntil) return Promise.resolve();
    const { config } = this.deps;
    this.closeIdle(partition, st, Date.now());
    const { changed } = st.windows.drain();
    const late = st.late.drain(st.next);
    const windows = new WindowColumns(config.topK);
    for (const s of changed) windows.add(s, partition);
    const columns = windows.columns().concat(columnsOfPoints(late));
    for (const s of changed) s.dirty = false;
    const ws = Object.fromEntries(st.windows.watermarks);
    const newest = Math.max(st.windows.fallbackWatermark, ...Object.values(ws));
    const snapshot: FlushSnapshot = {
      columns,
      points: windows.rows + late.length,
      changed: changed.length > 0,
      next: st.next,
      resume: st.windows.resumeOffset(st.next),
      checkpoint: { c: st.next, w: Number.isFinite(newest) ? newest : null, ws },
    };
    st.sinceSnapshot = 0;
    st.inFlight++;
    const written = st.writing.then(() => this.write(partition, st, snapshot));
    st.writing = written.then(
      () => {
        st.inFlight--;
      },
      () => {
        st.inFlight--;
      },
    );
    return written;
  }

  /**
   * Reads the partitions' ends from the bus when a source of one has been silent for idleTimeout, so that the next
   * snapshot's closeIdle can tell a source that stopped from a consumer that is behind. One read at a time; a failed
   * read leaves the wall-clock rule alone (warned once).
   */
  private readEndsIfIdle(): void {
    if (this.readingEnds) return;
    const now = Date.now();
    const { idleTimeout } = this.deps.config;
    const waiting = [...this.partitions.values()].some((st) =>
      [...st.seen.values()].some((seen) => now - seen >= idleTimeout && (st.end?.at ?? 0) < seen + idleTimeout),
    );
    if (!waiting) return;
    this.readingEnds = Promise.resolve()
      .then(() => this.deps.bus.partitions(this.deps.topic))
      .then(
        (ranges) => {
          for (const r of ranges) {
            const st = this.partitions.get(r.partition);
            // Kafka's offsets are dense (last = high - 1); the local log's are byte positions and say `last`.
            if (st) st.end = { last: r.last ?? r.high - 1, at: now };
          }
        },
        (err) => {
          if (!this.endsFailed)
            this.deps.ctx.logger.warn(
              "Reading the partitions' ends failed: idle sources are closed by the wall clock alone, even behind.",
              { topic: this.deps.topic, error: (err as Error).message },
            );
          this.endsFailed = true;
          for (const st of this.partitions.values()) st.end = { last: Number.NEGATIVE_INFINITY, at: now };
        },
      )
      .finally(() => {
        this.readingEnds = null;
      });
  }

  /**
   * A source without an event for idleTimeout of wall time, in a partition with nothing left unread when its end was
   * last read (after that idleTimeout), has its watermark moved to the end + lateness of its newest open window,
   * which closes every one of them (so a source that stopped does not hold its windows open).
   */
  private closeIdle(partition: number, st: PartitionState, now: number): void {
    const { windows } = st;
    for (const [source, seen] of st.seen) {
      if (now - seen < this.deps.config.idleTimeout) continue;
      // Not read since the source looked idle, or messages still unread: wait (a later tick reads the end again).
      if (!st.end || st.end.at < seen + this.deps.config.idleTimeout || st.next <= st.end.last) continue;
      st.seen.delete(source);
      let newestEnd = Number.NEGATIVE_INFINITY;
      for (const w of windows.open.values()) if (w.source === source && w.end > newestEnd) newestEnd = w.end;
      const target = newestEnd + windows.options.latenessMs;
      if (target <= windows.watermark(source)) continue;
      windows.watermarks.set(source, target);
      // Events of it still to come in those windows will count as late: say so, as the reason to look for.
      this.deps.ctx.logger.info("A source sent nothing for idleTimeout: closed its open windows.", {
        source,
        partition,
        idleMs: now - seen,
      });
    }
  }

  private async write(partition: number, st: PartitionState, snap: FlushSnapshot): Promise<void> {
    if (st.broken) return;
    const { series, ctx } = this.deps;
    if (snap.points > 0) {
      try {
        await this.retrying(() => writeSeriesColumns(series, snap.columns));
      } catch (err) {
        st.broken = true;
        throw err;
      }
      ctx.metrics.inc("logbench_aggregate_sent_total", { topic: this.deps.topic }, snap.points);
    }
    if (snap.next === 0) return;
    const { checkpoint } = snap;
    try {
      await this.subscription?.commit(partition, snap.resume, JSON.stringify(checkpoint));
    } catch (err) {
      // A rebalance fenced this member (CONFLICT): the partition's next owner resumes from the last commit and
      // rewrites the same windows (idempotent), so this is no reason to stop the daemon.
      if (!isLogbenchError(err, "CONFLICT")) throw err;
      ctx.logger.warn("Committing the aggregate offset was refused by a rebalance; the next owner redoes it.", {
        partition,
        error: (err as Error).message,
      });
      return;
    }
    if (checkpoint.w !== null)
      ctx.metrics.set("logbench_aggregate_watermark_ms", { partition: String(partition) }, checkpoint.w);
    // Merging the summaries of the recent windows is the main thread's costliest step of a flush: only for listeners.
    if (snap.changed && this.listeners.size > 0) {
      const windows = this.windows();
      for (const l of this.listeners) l(windows);
    }
  }

  private state(partition: number): PartitionState {
    let st = this.partitions.get(partition);
    if (!st) {
      st = partitionState(this.newWindows(), new LateCounts(partition), 0, 0);
      this.partitions.set(partition, st);
    }
    return st;
  }

  private newWindows(): PartitionWindows {
    const { lateness, topK } = this.deps.config;
    return new PartitionWindows({ windows: this.specs, latenessMs: lateness, topK });
  }

  private withLock<T>(partition: number, fn: () => Promise<T> | T): Promise<T> {
    const st = this.state(partition);
    const run = st.lock.then(fn);
    st.lock = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private retrying(fn: () => Promise<void>): Promise<void> {
    return retryWhileRunning(
      this.deps.ctx,
      { doing: "writing windows", errorMetric: "logbench_aggregate_errors_total" },
      fn,
    );
  }
}

/** The checkpoint in a commit's metadata, or null (no metadata, or metadata written by another tool). */
export function parseCheckpoint(metadata: string | null): Checkpoint | null {
  if (!metadata) return null;
  try {
    const parsed = JSON.parse(metadata) as Checkpoint;
    return typeof parsed.c === "number" ? parsed : null;
  } catch {
    return null;
  }
}
