/**
 * Archive paths (DESIGN §5), Hive-style so Spark, Trino or DuckDB read them as they are:
 *   <topic>/dt=YYYY-MM-DD/hour=HH/part-<partition>-<firstOffset>-<lastOffset>.parquet   (event time, UTC)
 * and the archiver's own bookkeeping, under folders starting with "_" that Hive-style readers skip:
 *   _logbench/tmp/<topic>/part-<partition>-<first>-<last>-<bucket>[-<roll>].parquet.tmp   files being written
 *   _logbench/wal/<topic>/<partition>/<lastOffset>.json([.<roll>].tmp)    committed rolls (write-ahead log)
 * (<roll>: a token of the roll writing the file, so two daemons' rolls of one offset range never share a file.)
 *   _logbench/gaps/<topic>/<partition>/<from>-<to>.json                           offsets [from, to) lost to retention
 * The one module that names and parses these paths: the archive stage, recovery, the query catalog, the status
 * API and the notebooks all go through it, so a reader can never disagree with the writer about a name.
 */

/** An event-time hour: `dt` is YYYY-MM-DD, `hour` is HH, both UTC. */
export interface Bucket {
  dt: string;
  hour: string;
}

/** The offsets a part file's name carries. */
export interface PartName {
  partition: number;
  first: number;
  last: number;
}

const DAY = "dt=";
const HOUR = "hour=";
/** A published part file's name; its three numbers are partition, first and last offset. */
export const PART_FILE_NAME = /^part-(\d+)-(\d+)-(\d+)\.parquet$/;
const TMP_FILE_NAME = /^part-(\d+)-(\d+)-(\d+)-.*\.parquet\.tmp$/;
const WAL_ENTRY_NAME = /^(\d+)\.json$/;

/** Path segments that match every published part file under a topic folder (join them onto the folder). */
export const PART_FILE_GLOB: readonly string[] = [`${DAY}*`, `${HOUR}*`, "*.parquet"];

export function bucketOf(ts: number): Bucket {
  const iso = new Date(ts).toISOString(); // always UTC
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** "dt=YYYY-MM-DD/hour=HH": the bucket's folder below the topic. */
export function bucketKey(b: Bucket): string {
  return `${dayDirName(b.dt)}/${HOUR}${b.hour}`;
}

/** "dt=YYYY-MM-DD": the folder of one day. */
export function dayDirName(dt: string): string {
  return `${DAY}${dt}`;
}

/** The day of a "dt=…" folder name, or null for any other name. */
export function parseDayDir(name: string): string | null {
  return name.startsWith(DAY) ? name.slice(DAY.length) : null;
}

/** The hour of an "hour=…" folder name, or null for any other name. */
export function parseHourDir(name: string): string | null {
  return name.startsWith(HOUR) ? name.slice(HOUR.length) : null;
}

export function partFileName(partition: number, first: number, last: number): string {
  return `part-${partition}-${first}-${last}.parquet`;
}

/** Where a published file lives; `bucket` is a bucketKey. */
export function finalPath(topic: string, bucket: string, partition: number, first: number, last: number): string {
  return `${topic}/${bucket}/${partFileName(partition, first, last)}`;
}

/**
 * Where a file is written before it is published; unique per bucket, so one roll's files never collide, and per
 * `roll` token, so neither do the rolls of two daemons (a partition's old and new owner) over the same offsets.
 */
export function tmpPath(
  topic: string,
  bucket: string,
  partition: number,
  first: number,
  last: number,
  roll?: string,
): string {
  const flat = bucket.replace(/[=/]/g, "_");
  return `${tmpDir(topic)}/part-${partition}-${first}-${last}-${flat}${roll ? `-${roll}` : ""}.parquet.tmp`;
}

export function tmpDir(topic: string): string {
  return `_logbench/tmp/${topic}`;
}

export function walDir(topic: string, partition: number): string {
  return `_logbench/wal/${topic}/${partition}`;
}

/** The write-ahead-log entry of the roll that ended at `last`. */
export function walEntryPath(topic: string, partition: number, last: number): string {
  return `${walDir(topic, partition)}/${last}.json`;
}

/** The name an entry is written under before its atomic rename to walEntryPath (`roll` as in tmpPath). */
export function walTmpPath(topic: string, partition: number, last: number, roll?: string): string {
  return `${walEntryPath(topic, partition, last)}${roll ? `.${roll}` : ""}.tmp`;
}

/** The last offset of a committed log entry's name, or null (a temporary entry, or anything else). */
export function parseWalEntryName(name: string): number | null {
  const m = WAL_ENTRY_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/** Whether a name in a log folder is an entry still being written (left behind by an interrupted roll). */
export function isWalTmpName(name: string): boolean {
  return name.endsWith(".tmp");
}

export function gapDir(topic: string, partition?: number): string {
  return partition === undefined ? `_logbench/gaps/${topic}` : `_logbench/gaps/${topic}/${partition}`;
}

/** The record of offsets [from, to) of a partition that the bus deleted before the archive read them. */
export function gapPath(topic: string, partition: number, from: number, to: number): string {
  return `${gapDir(topic, partition)}/${from}-${to}.json`;
}

const GAP_NAME = /^(\d+)-(\d+)\.json$/;

/** The lost range [from, to) of a gap record's name, or null for other names. */
export function parseGapName(name: string): { from: number; to: number } | null {
  const m = GAP_NAME.exec(name);
  return m ? { from: Number(m[1]), to: Number(m[2]) } : null;
}

/** Partition and offset range of a published part file's name, or null for other names. */
export function parseFinalName(name: string): PartName | null {
  return toPart(PART_FILE_NAME.exec(name));
}

/** Partition and offset range from a final or temporary file name, or null for other names. */
export function parsePartName(name: string): PartName | null {
  return toPart(PART_FILE_NAME.exec(name) ?? TMP_FILE_NAME.exec(name));
}

function toPart(m: RegExpExecArray | null): PartName | null {
  return m ? { partition: Number(m[1]), first: Number(m[2]), last: Number(m[3]) } : null;
}
