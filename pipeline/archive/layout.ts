/**
 * Archive paths (DESIGN §5), Hive-style so Spark, Trino or DuckDB read them as they are:
 *   <topic>/dt=YYYY-MM-DD/hour=HH/part-<partition>-<firstOffset>-<lastOffset>.parquet   (event time, UTC)
 * and the archiver's own bookkeeping, under folders starting with "_" that Hive-style readers skip:
 *   _logbench/tmp/<topic>/part-<partition>-<first>-<last>-<bucket>.parquet.tmp   files being written
 *   _logbench/wal/<topic>/<partition>/<lastOffset>.json                           committed rolls (write-ahead log)
 */

export interface Bucket {
  dt: string;
  hour: string;
}

export function bucketOf(ts: number): Bucket {
  const iso = new Date(ts).toISOString(); // always UTC
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

export function bucketKey(b: Bucket): string {
  return `dt=${b.dt}/hour=${b.hour}`;
}

export function partFileName(partition: number, first: number, last: number): string {
  return `part-${partition}-${first}-${last}.parquet`;
}

export function finalPath(topic: string, bucket: string, partition: number, first: number, last: number): string {
  return `${topic}/${bucket}/${partFileName(partition, first, last)}`;
}

export function tmpPath(topic: string, bucket: string, partition: number, first: number, last: number): string {
  const flat = bucket.replace(/[=/]/g, "_");
  return `_logbench/tmp/${topic}/part-${partition}-${first}-${last}-${flat}.parquet.tmp`;
}

export function tmpDir(topic: string): string {
  return `_logbench/tmp/${topic}`;
}

export function walDir(topic: string, partition: number): string {
  return `_logbench/wal/${topic}/${partition}`;
}

const PART = /^part-(\d+)-(\d+)-(\d+)\.parquet$/;
const TMP = /^part-(\d+)-(\d+)-(\d+)-.*\.parquet\.tmp$/;

/** Partition and offset range from a final or temporary file name, or null for other names. */
export function parsePartName(name: string): { partition: number; first: number; last: number } | null {
  const m = PART.exec(name) ?? TMP.exec(name);
  return m ? { partition: Number(m[1]), first: Number(m[2]), last: Number(m[3]) } : null;
}
