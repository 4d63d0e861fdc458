/**
 * Marks the archive's `ts` column as a UTC instant in a Parquet file DuckDB wrote.
 *
 * DuckDB (1.5) writes TIMESTAMP_MS as TIMESTAMP(MILLIS, isAdjustedToUTC=false), a local date-time that Spark reads as
 * TIMESTAMP_NTZ, and has no COPY option for the flag yet (duckdb/duckdb#20976 adds one). The flag is one boolean in
 * the footer's Thrift compact encoding, where a boolean field is written in its field header's type nibble
 * (1 = true, 2 = false). The TimestampType of the one timestamp column is the byte run
 *   8C        LogicalType field 8 (TIMESTAMP), a struct
 *   12        TimestampType field 1 (isAdjustedToUTC) = false
 *   1C 1C 00  field 2 (unit) → TimeUnit field 1 (MILLIS), an empty struct, end of TimeUnit
 *   00        end of TimeUnit union … 00 end of TimestampType
 * and only its 0x12 becomes 0x11. The run must occur exactly once in the footer, or nothing is changed and the
 * encoding fails (a DuckDB upgrade that writes something else is then caught by the test, not shipped).
 */
const PATTERN = [0x8c, 0x12, 0x1c, 0x1c, 0x00, 0x00, 0x00];

export function markTimestampUtc(file: Uint8Array): Uint8Array {
  const n = file.length;
  const magic = String.fromCharCode(...file.subarray(n - 4));
  if (n < 12 || magic !== "PAR1") throw new Error("Not a Parquet file: no PAR1 at the end");
  const footerLength = new DataView(file.buffer, file.byteOffset + n - 8, 4).getUint32(0, true);
  const start = n - 8 - footerLength;
  const hits: number[] = [];
  for (let i = start; i <= n - 8 - PATTERN.length; i++) {
    let match = true;
    for (let j = 0; j < PATTERN.length && match; j++) match = file[i + j] === PATTERN[j];
    if (match) hits.push(i);
  }
  if (hits.length !== 1)
    throw new Error(`Expected one TIMESTAMP(MILLIS) column in the Parquet footer, found ${hits.length}`);
  const out = new Uint8Array(file);
  out[hits[0]! + 1] = 0x11;
  return out;
}
