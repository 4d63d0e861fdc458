/**
 * The archive consumer group: LogEvents from the bus → time-bucketed Parquet in the ArchiveStore, exactly once.
 * The same stage archives a polling source's records topic (one instance per topic, `format: RECORDS_FORMAT`).
 *
 * Each partition buffers its records by (dt, hour) bucket. A roll (on size, record count, age, idle partition,
 * revoke or stop) writes every bucket to a temporary file, then commits the roll by creating a write-ahead-log
 * entry (temp + atomic rename) that lists the renames, then renames each file into place. A restart finishes
 * the renames of the newest log entry, deletes leftover temporary files, and resumes from the newest entry's last
 * offset + 1 — whatever the group's committed offset says. File names carry partition and offset range.
 */
import { randomBytes } from "node:crypto";
import type { Context } from "../../connectors/context.ts";
import { isLogbenchError, LogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore, Bus, BusMessage, CommittedOffset, Subscription } from "../../connectors/types.ts";
import type { Config } from "../config/schema.ts";
import { busDeadLetter } from "../model/decode-event.ts";
import type { DeadLetter } from "../model/log-event.ts";
import type { BusLosses } from "../observe/bus-losses.ts";
import { retryWhileRunning } from "../retry.ts";
import { type ArchiveFormat, EVENTS_FORMAT } from "./formats.ts";
import { InFlight } from "./in-flight.ts";
import {
  bucketKey,
  bucketOf,
  finalPath,
  gapPath,
  parseWalEntryName,
  tmpPath,
  walDir,
  walEntryPath,
  walTmpPath,
} from "./layout.ts";
import { claim, commitLogEntry, newMemberId } from "./ownership.ts";
import { type Compression, joinLines, ParquetEncoder, removeFile, type Spool } from "./parquet.ts";
import { recoverPartition } from "./recovery.ts";
import { SpoolFiles } from "./spool-files.ts";

interface Bucket {
  rows: unknown[];
  first: number;
  last: number;
  /** Layouts read from JSON (parquet.ts `fromJson`): the messages are in this file, not in `rows`. */
  spool?: Spool;
}

interface Buffer {
  buckets: Map<string, Bucket>;
  first: number;
  last: number;
  records: number;
  bytes: number;
  openedAt: number;
  lastRecordAt: number;
  /** Offsets below this are archived already. */
  resumeFrom: number;
}

export interface ArchiveStageDeps {
  bus: Bus;
  store: ArchiveStore;
  topic: string;
  /** What the topic holds; LogEvents by default. */
  format?: ArchiveFormat<unknown>;
  /** Where messages that are not LogEvents go. */
  deadLetterTopic: string;
  config: Config["archiver"];
  /** Local folder for staging Parquet files before they go to the store. */
  scratchDir: string;
  ctx: Context;
  /** A roll started by a timer failed for good: the daemon must stop (it would fail the same way again). */
  onFatal: (err: unknown) => void;
  /** Where offsets lost to the bus's retention are reported (logged, counted, shown by /healthz). */
  losses?: BusLosses;
}

export class ArchiveStage {
  private subscription: Subscription | null = null;
  private readonly locks = new Map<number, Promise<void>>();
  private encoder: ParquetEncoder | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly buffers = new Map<number, Buffer>();
  /** Spool files open between batches (closed before a roll reads them). */
  private readonly spools = new SpoolFiles();
  /** A timed roll failed for good; the daemon is stopping. */
  private failed = false;

  private readonly format: ArchiveFormat<unknown>;
  /** This stage's name in the partitions' claims (ownership.ts). */
  private readonly member = newMemberId();

  constructor(private readonly deps: ArchiveStageDeps) {
    this.format = deps.format ?? (EVENTS_FORMAT as ArchiveFormat<unknown>);
    const m = deps.ctx.metrics;
    m.describe("logbench_archive_received_total", "counter", "Records read from the bus by the archiver");
    m.describe("logbench_archive_sent_total", "counter", "Records written to archive files");
    m.describe("logbench_archive_files_total", "counter", "Archive files committed");
    m.describe("logbench_archive_bytes_total", "counter", "Parquet bytes written");
    m.describe("logbench_archive_errors_total", "counter", "Archive write failures, by code");
    m.describe("logbench_archive_discarded_total", "counter", "Records skipped as already archived");
    m.describe(
      "logbench_archive_dead_letters_total",
      "counter",
      "Bus messages that are not LogEvents, sent to dead letters",
    );
  }

  async start(): Promise<Subscription> {
    this.encoder = await ParquetEncoder.create(this.deps.scratchDir);
    const { bus, topic, config } = this.deps;
    this.subscription = await bus.subscribe({
      topic,
      group: config.group,
      onAssigned: (assigned) => this.onAssigned(assigned),
      onBatch: (partition, messages) => this.withLock(partition, () => this.onBatch(partition, messages)),
      onLost: (partition, from, to) => this.withLock(partition, () => this.recordGap(partition, from, to)),
      onRevoked: async (partitions) => {
        await Promise.all(partitions.map((p) => this.withLock(p, () => this.roll(p, "revoke"))));
        for (const p of partitions) this.buffers.delete(p);
      },
    });
    const tick = Math.max(100, Math.min(config.roll.idle, config.roll.interval) / 4);
    this.timer = setInterval(() => this.checkTimers(), tick);
    return this.subscription;
  }

  /** Rolls every buffer (durable), leaves the group. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.subscription?.stop();
    await this.spools.closeAll();
    await this.encoder?.close();
  }

  /** Records buffered and not yet archived, for /api/status. */
  buffered(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.records;
    return n;
  }

  private async onAssigned(assigned: Array<{ partition: number; committed: CommittedOffset | null }>) {
    // Claim first: recovery then fences off a previous owner's roll still in flight (ownership.ts).
    for (const { partition } of assigned) {
      const { store, topic } = this.deps;
      // Best effort: an archive that refuses the claim refuses the rolls too, and they report it.
      await this.retrying(`claiming partition ${partition}`, () => claim(store, topic, partition, this.member)).catch(
        (err: unknown) => {
          this.deps.ctx.logger.warn("Could not claim the partition in the archive.", { partition, err });
        },
      );
    }
    for (const { partition, committed } of assigned) {
      const resume = await this.retrying(`recovering partition ${partition}`, () =>
        recoverPartition(this.deps.store, this.deps.topic, partition, this.deps.ctx.logger),
      );
      this.buffers.set(partition, emptyBuffer(resume));
      if (resume > (committed?.offset ?? 0)) this.subscription?.seek(partition, resume);
    }
  }

  /** Offsets the bus deleted before they were archived: say so, and leave a record beside the archive. */
  private async recordGap(partition: number, from: number, to: number): Promise<void> {
    const { topic, config, store, ctx } = this.deps;
    if (this.deps.losses) this.deps.losses.record({ group: config.group, topic, partition, from, to });
    else ctx.logger.error("Offsets were deleted by retention before they were archived.", { partition, from, to });
    const gap = { topic, partition, from, to, lost: to - from, group: config.group, detectedAt: Date.now() };
    await this.retrying("recording an archive gap", () =>
      store.create(gapPath(topic, partition, from, to), new TextEncoder().encode(JSON.stringify(gap)), {
        overwrite: true,
      }),
    );
  }

  private async onBatch(partition: number, messages: BusMessage[]): Promise<void> {
    let buf = this.buffers.get(partition);
    if (!buf) {
      buf = emptyBuffer(0);
      this.buffers.set(partition, buf);
    }
    const m = this.deps.ctx.metrics;
    const labels = { topic: this.deps.topic };
    let skipped = 0;
    const rejected: DeadLetter[] = [];
    const spooling = this.format.layout.fromJson !== undefined;
    const toSpool = new Map<Bucket, Uint8Array[]>();
    let lastHour = Number.NaN;
    let lastKey = "";
    for (const msg of messages) {
      if (msg.offset < buf.resumeFrom) {
        skipped++;
        continue;
      }
      // Spooled text needs no row: its check and event time come without decoding it when the format can tell.
      let row: unknown = null;
      let ts = spooling ? (this.format.spoolTs?.(msg) ?? null) : null;
      if (ts === null) {
        const decoded = this.format.decode(msg);
        if ("reason" in decoded) {
          rejected.push(busDeadLetter(this.deps.topic, msg, decoded.reason));
          continue;
        }
        row = decoded.row;
        ts = decoded.ts;
      }
      // Most messages fall in the hour of the one before: its key is reused without formatting a date.
      const hour = Math.floor(ts / HOUR_MS);
      if (hour !== lastHour) {
        lastHour = hour;
        lastKey = bucketKey(bucketOf(ts));
      }
      const key = lastKey;
      let bucket = buf.buckets.get(key);
      if (!bucket) {
        bucket = { rows: [], first: msg.offset, last: msg.offset };
        if (spooling) bucket.spool = { path: this.encoder!.spoolPath(), records: 0, longest: 0, bytes: 0 };
        buf.buckets.set(key, bucket);
      }
      if (bucket.spool) {
        // A layout read from the JSON text spools the message's bytes, not the decoded row (parquet.ts).
        let values = toSpool.get(bucket);
        if (!values) {
          values = [];
          toSpool.set(bucket, values);
        }
        values.push(msg.value);
        bucket.spool.records++;
        bucket.spool.bytes += msg.value.length + 1;
        if (msg.value.length > bucket.spool.longest) bucket.spool.longest = msg.value.length;
      } else bucket.rows.push(row);
      bucket.last = msg.offset;
      if (buf.records === 0) {
        buf.first = msg.offset;
        buf.openedAt = Date.now();
      }
      buf.last = msg.offset;
      buf.records++;
      buf.bytes += msg.value.length;
    }
    for (const [bucket, values] of toSpool) await this.spools.append(bucket.spool!.path, joinLines(values));
    buf.lastRecordAt = Date.now();
    m.inc("logbench_archive_received_total", labels, messages.length);
    if (skipped) m.inc("logbench_archive_discarded_total", labels, skipped);
    if (rejected.length) {
      // Kept, not dropped: they reach the dead letters before their offsets can be committed.
      await this.retrying("writing dead letters", () =>
        this.deps.bus.produce(
          this.deps.deadLetterTopic,
          rejected.map((d) => ({ key: d.source, value: JSON.stringify(d) })),
        ),
      );
      m.inc("logbench_archive_dead_letters_total", labels, rejected.length);
    }
    const roll = this.deps.config.roll;
    if (buf.records >= roll.records) await this.roll(partition, "records");
    else if (buf.bytes >= roll.size) await this.roll(partition, "size");
  }

  private checkTimers(): void {
    const now = Date.now();
    const { idle, interval } = this.deps.config.roll;
    for (const [partition, buf] of this.buffers) {
      if (buf.records === 0) continue;
      const why = now - buf.lastRecordAt >= idle ? "idle" : now - buf.openedAt >= interval ? "interval" : null;
      if (why)
        // Rolls queued by earlier ticks must not write again once one has failed for good.
        this.withLock(partition, async () => (this.failed ? undefined : this.roll(partition, why))).catch((err) => {
          // Retryable failures were retried inside roll(); this one will not go away by itself. The records stay
          // uncommitted on the bus, so stopping loses nothing.
          if (this.failed) return;
          this.failed = true;
          if (this.timer) clearInterval(this.timer);
          this.deps.onFatal(err);
        });
    }
  }

  private async roll(partition: number, reason: string): Promise<void> {
    const buf = this.buffers.get(partition);
    if (!buf || buf.records === 0) return;
    // Whole before the encoder reads them, and closed before they are removed.
    await this.spools.close(spoolPaths(buf));
    const { store, topic, ctx } = this.deps;
    const files: Array<{ tmp: string; final: string; records: number }> = [];
    let bytes = 0;
    // This roll's own temporary names: another daemon's roll of the same offsets must not touch its files.
    const token = randomBytes(4).toString("hex");
    const buckets = [...buf.buckets];
    // Files are stored while the next ones are encoded (DuckDB's thread and the store's I/O overlap), a few at
    // once. The writes are not durable one by one: one sync below covers them all before the commit point.
    const writes = new InFlight();
    let i = 0;
    try {
      for await (const data of this.encodeBuckets(buckets.map(([, b]) => b))) {
        const [bucket, b] = buckets[i++]!;
        const tmp = tmpPath(topic, bucket, partition, b.first, b.last, token);
        await writes.add(data.length, () =>
          this.retrying("writing a temporary archive file", () =>
            store.create(tmp, data, { overwrite: true, durable: false }),
          ),
        );
        files.push({
          tmp,
          final: finalPath(topic, bucket, partition, b.first, b.last),
          records: b.spool?.records ?? b.rows.length,
        });
        bytes += data.length;
      }
    } catch (err) {
      await writes.drain().catch(() => {}); // no write of this roll left running behind its failure
      throw err;
    }
    await writes.drain();
    // Every temporary file durable before the log entry that lists them exists.
    await this.retrying("syncing the temporary archive files", () => store.sync(files.map((f) => f.tmp)));
    // The commit point: once this entry exists the roll is durable, even if the renames below are cut short.
    const entry = {
      partition,
      first: buf.first,
      last: buf.last,
      files: files.map(({ tmp, final }) => ({ tmp, final })),
    };
    const wal = walEntryPath(topic, partition, buf.last);
    const walTmp = walTmpPath(topic, partition, buf.last, token);
    // The member id makes the entry's bytes this roll's own (commitLogEntry compares them after a lost answer).
    const body = new TextEncoder().encode(JSON.stringify({ ...entry, member: this.member }));
    // False: the partition moved to another daemon, whose recovery may have read the log already, so this roll must
    // not land. The records stay uncommitted; the new owner reads them from the bus.
    const committed = await this.retrying("writing the archive log entry", () =>
      commitLogEntry(store, { topic, partition, member: this.member }, walTmp, wal, body),
    );
    if (!committed) {
      for (const f of [walTmp, ...files.map((x) => x.tmp)]) await store.delete(f).catch(() => false);
      for (const b of buf.buckets.values()) if (b.spool) await removeFile(b.spool.path);
      this.buffers.set(partition, emptyBuffer(buf.first));
      ctx.logger.warn("Abandoned a roll: another daemon claimed the partition; it archives these records.", {
        partition,
        first: buf.first,
        last: buf.last,
      });
      return;
    }
    const renames = new InFlight();
    try {
      for (const f of files) {
        await renames.add(0, () =>
          this.retrying("renaming an archive file into place", () => renameInto(store, f.tmp, f.final)),
        );
      }
    } catch (err) {
      await renames.drain().catch(() => {});
      throw err;
    }
    await renames.drain();
    // Recovery redoes the renames of the newest entry only: these must be durable before the entry is pruned,
    // and before the next roll's entry is written. The files' data is synced already: their folders remain.
    const folders = [...new Set(files.map((f) => f.final.slice(0, f.final.lastIndexOf("/"))))];
    await this.retrying("syncing the archive files' new names", () => store.sync(folders));
    await this.pruneWal(partition, buf.last);
    const labels = { topic };
    ctx.metrics.inc("logbench_archive_sent_total", labels, buf.records);
    ctx.metrics.inc("logbench_archive_files_total", labels, files.length);
    ctx.metrics.inc("logbench_archive_bytes_total", labels, bytes);
    ctx.logger.debug("Rolled archive files.", { partition, reason, files: files.length, records: buf.records });
    const next = buf.last + 1;
    this.buffers.set(partition, emptyBuffer(next));
    for (const b of buf.buckets.values()) if (b.spool) await removeFile(b.spool.path);
    // The group commit only feeds lag metrics and other tools: the log above is what a restart trusts.
    await this.subscription
      ?.commit(partition, next)
      .catch((err) =>
        ctx.logger.warn("Committing the archive offset failed; the archive log still has it.", { partition, err }),
      );
  }

  /** Each bucket's Parquet file, in order: spools through the encoder's grouped read, rows one at a time. */
  private async *encodeBuckets(buckets: Bucket[]): AsyncGenerator<Uint8Array, void, undefined> {
    const compression = this.deps.config.compression as Compression;
    const { layout } = this.format;
    const spools = buckets.flatMap((b) => (b.spool ? [b.spool] : []));
    if (spools.length === buckets.length) yield* this.encoder!.encodeSpools(spools, layout, compression);
    else for (const b of buckets) yield await this.encoder!.encodeRows(b.rows, layout, compression);
  }

  private async pruneWal(partition: number, keep: number): Promise<void> {
    const dir = walDir(this.deps.topic, partition);
    const entries = await this.deps.store.list(dir);
    for (const e of entries) {
      const last = parseWalEntryName(e.name);
      if (last !== null && last < keep) await this.deps.store.delete(`${dir}/${e.name}`);
    }
  }

  /**
   * Serialises batches, timer rolls and revokes of one partition. The chain lives beside the buffers, not in
   * them: a roll replaces the partition's buffer, and a lock inside it let work queued before the roll run
   * alongside work queued after (overlapping files, and records added to a buffer already replaced).
   */
  private withLock(partition: number, fn: () => Promise<void>): Promise<void> {
    if (!this.buffers.has(partition)) this.buffers.set(partition, emptyBuffer(0));
    const run = (this.locks.get(partition) ?? Promise.resolve()).then(fn);
    this.locks.set(
      partition,
      run.catch(() => {}),
    );
    return run;
  }

  private retrying<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    return retryWhileRunning(this.deps.ctx, { doing, errorMetric: "logbench_archive_errors_total" }, fn);
  }
}

/**
 * Rename that is done when the destination is in place: a retried rename whose first answer was lost finds
 * the destination there (ALREADY_EXISTS) or the source gone (false).
 */
async function renameInto(store: ArchiveStore, from: string, to: string): Promise<void> {
  try {
    // Not durable one by one: the roll syncs all its new names at once.
    if (await store.rename(from, to, { durable: false })) return;
  } catch (err) {
    if (!isLogbenchError(err, "ALREADY_EXISTS")) throw err;
    await store.delete(from);
    return;
  }
  if (!(await store.status(to))) throw new LogbenchError("INTERNAL", `renaming ${from}: neither it nor ${to} exists`);
}

const HOUR_MS = 3_600_000;

function spoolPaths(buf: Buffer): string[] {
  return [...buf.buckets.values()].flatMap((b) => (b.spool ? [b.spool.path] : []));
}

function emptyBuffer(resumeFrom: number): Buffer {
  return {
    buckets: new Map(),
    first: -1,
    last: -1,
    records: 0,
    bytes: 0,
    openedAt: 0,
    lastRecordAt: 0,
    resumeFrom,
  };
}
