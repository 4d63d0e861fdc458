/**
 * The three small interfaces that tie logbench together (DESIGN §3). Every implementation runs the
 * shared contract suite in test/contracts/ for its interface.
 */

// ─── Bus ─────────────────────────────────────────────────────────────────────────────────────────

export interface ProduceRecord {
  /** Partitioning key; LogEvents use the client host, so one host always lands on one partition. */
  key: string | null;
  value: Uint8Array | string;
  /** Event time in epoch ms (Kafka message timestamp); defaults to now. */
  timestamp?: number;
}

export interface BusMessage {
  partition: number;
  offset: number;
  key: string | null;
  value: Uint8Array;
  /** Message timestamp, epoch ms. */
  timestamp: number;
}

export interface CommittedOffset {
  /** Next offset to read (Kafka convention: last processed + 1). */
  offset: number;
  /** Opaque string stored with the commit (the aggregate stage keeps its checkpoint here). */
  metadata: string | null;
}

export interface PartitionRange {
  partition: number;
  /** Lowest offset still readable. */
  low: number;
  /** Next offset to be written (high watermark). */
  high: number;
  /**
   * Offset of the last record, from buses whose offsets are not dense (the local log's byte positions), where a
   * consumer that processed it has a position ("last + 1") below `high`. -1 or absent when unknown or empty.
   */
  last?: number;
}

export interface SubscribeOptions {
  topic: string;
  group: string;
  /** Where to start when the group has no commit for a partition: the earliest offset (default) or the end. */
  fromBeginning?: boolean;
  /**
   * Messages of one partition in offset order. The next batch of the same partition is delivered only
   * after the returned promise resolves (back-pressure). A rejection stops the subscription with that error.
   * Nothing is committed automatically: the stage calls `Subscription.commit` once its output is durable.
   */
  onBatch(partition: number, messages: BusMessage[]): Promise<void>;
  /** Partitions given to this member, with their committed offsets, before any of their batches. */
  onAssigned?(assigned: Array<{ partition: number; committed: CommittedOffset | null }>): Promise<void>;
  /** Partitions taken away (rebalance or stop); called before they go to another member. */
  onRevoked?(partitions: number[]): Promise<void>;
  /**
   * Offsets [from, to) of a partition were deleted by the bus's retention before this group read them: they are
   * lost, and delivery goes on at `to`, the earliest offset still kept (never the end of the partition). Called
   * once per gap, before the partition's next batch; a rejection stops the subscription. Kafka detects it on
   * assignment (position below the low watermark) and when the client resets an out-of-range offset; the local
   * file log has no retention and never calls it.
   */
  onLost?(partition: number, from: number, to: number): Promise<void>;
}

export interface Subscription {
  /** Commit the next offset to read for a partition, with optional metadata. */
  commit(partition: number, offset: number, metadata?: string): Promise<void>;
  /** Move the read position of an assigned partition. */
  seek(partition: number, offset: number): void;
  /** Partitions currently assigned to this member. */
  assigned(): number[];
  /** Stop fetching, wait for the batch in flight, call onRevoked, leave the group. */
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves on stop(), rejects with the error that ended it. */
  readonly done: Promise<void>;
}

/**
 * A partitioned, replayable log with consumer groups (Kafka, or the local file log).
 * Topic creation is not part of the interface: the local log creates on first use with
 * `partitions` from its config; Kafka topics are created by operators (or the test cluster).
 */
export interface Bus {
  readonly kind: string;
  /** What an offset counts, and so what lag is measured in: Kafka offsets count messages, the local log's bytes. */
  readonly offsetUnit: "messages" | "bytes";
  /** Resolves once every record is durable (acknowledged by the broker / fsynced). */
  produce(topic: string, records: ProduceRecord[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Offsets per partition. */
  partitions(topic: string): Promise<PartitionRange[]>;
  /** Committed offsets of a group (for lag and checkpoints). */
  committed(group: string, topic: string): Promise<Map<number, CommittedOffset>>;
  /**
   * Messages whose timestamp is in [from, to), read from every partition starting at the
   * offset-for-timestamp of `from`. Bounded by `limit` messages (default 1,000,000).
   */
  readWindow(topic: string, window: { from: number; to: number; limit?: number }): Promise<BusMessage[]>;
  close(): Promise<void>;
}

// ─── ArchiveStore ────────────────────────────────────────────────────────────────────────────────

export interface DurabilityOptions {
  /** False: the store may defer making the change durable until a `sync` of the path (default true). */
  durable?: boolean;
}

export interface CreateOptions extends DurabilityOptions {
  overwrite?: boolean;
}

export interface FileStatus {
  /** Path relative to the store root, with "/" separators and no leading slash. */
  path: string;
  name: string;
  type: "FILE" | "DIRECTORY";
  length: number;
  /** Epoch ms. */
  modificationTime: number;
}

/**
 * A file system for the archive (HDFS over WebHDFS, or a local folder). Paths are relative to the
 * store's root, "/"-separated. Errors are LogbenchError: NOT_FOUND, ALREADY_EXISTS, PERMISSION, …
 */
export interface ArchiveStore {
  readonly kind: string;
  /** Human-readable root, for messages (never carries a secret). */
  readonly root: string;
  /**
   * Create a file with these bytes; parent folders are created. Fails with ALREADY_EXISTS unless overwrite.
   * Readers never see it partly written. `durable: false` lets the store leave the file's data and name to be
   * made durable by a later `sync` (a local folder defers its fsyncs; stores whose every answer is durable ignore
   * it); by default the file survives a crash once the call resolves.
   */
  create(path: string, data: Uint8Array, options?: CreateOptions): Promise<void>;
  /** Append bytes to an existing file. */
  append(path: string, data: Uint8Array): Promise<void>;
  /** Whole file contents. */
  open(path: string): Promise<Uint8Array>;
  /**
   * Atomic rename; the destination's parent is created. Returns false when the source does not exist.
   * `durable: false` as in `create`: the new name survives a crash after a `sync` of `to`.
   */
  rename(from: string, to: string, options?: DurabilityOptions): Promise<boolean>;
  /**
   * Make what non-durable creates and renames did to these paths survive a crash: each file's contents and its
   * name in its folder. Many files at once cost one flush of the file system's journal, not one per file. Paths
   * that do not exist (any more) are skipped.
   */
  sync(paths: string[]): Promise<void>;
  /** Direct children of a directory; NOT_FOUND when it does not exist. */
  list(path: string): Promise<FileStatus[]>;
  /** Status of one path, or null when it does not exist. */
  status(path: string): Promise<FileStatus | null>;
  mkdirs(path: string): Promise<void>;
  /** Returns false when nothing was there. */
  delete(path: string, options?: { recursive?: boolean }): Promise<boolean>;
  close(): Promise<void>;
}

// ─── SeriesStore ─────────────────────────────────────────────────────────────────────────────────

export interface SeriesPoint {
  measurement: string;
  /** Bounded-cardinality tags only (window, source, partition, method, status, rank…). */
  tags: Record<string, string>;
  /**
   * Integer-valued numbers are written as integers, other numbers as floats, strings as strings
   * (top_paths / top_hosts keep the ranked value in a string field `value`).
   */
  fields: Record<string, number | string>;
  /** Epoch ms; for window aggregates, the window start. */
  time: number;
}

export interface SeriesQuery {
  measurement: string;
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  /** Exact tag matches. */
  tags?: Record<string, string>;
}

/**
 * A time-series store. Writing a point with the same measurement, tag set and time as an earlier
 * one replaces its fields (InfluxDB semantics), which is what makes window writes idempotent.
 */
/**
 * Points of one measurement in columns, for writers of many points (the aggregate writes about one per event): row i
 * is `time[i]` with each tag's and each field's value at i, and no object per point. An undefined or empty tag value
 * is no tag; an undefined field value is a field the row does not carry (a row needs one field). A column may be
 * shorter than `time`: the rows past its end do not carry it. The writer leaves the arrays alone until the write
 * settles.
 */
export interface SeriesColumns {
  measurement: string;
  time: number[];
  tags: Record<string, Array<string | undefined>>;
  fields: Record<string, Array<number | string | undefined>>;
}

export interface SeriesStore {
  readonly kind: string;
  write(points: SeriesPoint[]): Promise<void>;
  /**
   * Optional: the same as `write` of the points the columns hold, for a store that keeps them without a point object
   * per row. Writers call `writeSeriesColumns` (series-columns.ts), which writes the points to a store without it.
   */
  writeColumns?(columns: SeriesColumns[]): Promise<void>;
  /** Points ordered by time, then by tag set. */
  query(query: SeriesQuery): Promise<SeriesPoint[]>;
  /** Names of measurements that hold data. */
  measurements(): Promise<string[]>;
  close(): Promise<void>;
}
