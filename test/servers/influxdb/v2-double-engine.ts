/**
 * The data side of the InfluxDB v2 recording double (v2-double.ts): a line protocol parser that follows
 * the published grammar, an in-memory bucket with InfluxDB's point identity and field-type rules, the
 * narrow Flux subset the logbench v2 store sends, and annotated CSV output.
 *   Line protocol: https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/
 *   Annotated CSV: https://docs.influxdata.com/influxdb/v2/reference/syntax/annotated-csv/
 */

export type FieldType = "integer" | "unsigned" | "float" | "string" | "boolean";
export interface FieldValue {
  type: FieldType;
  /** Canonical text: digits for integers, JS number text for floats, the raw string, "true"/"false". */
  text: string;
}
export interface ParsedLine {
  measurement: string;
  tags: Array<[string, string]>;
  fields: Map<string, FieldValue>;
  /** Nanoseconds since the epoch; undefined when the line has no timestamp. */
  time: bigint | undefined;
}

export class LineProtocolError extends Error {}

const NS_PER: Record<string, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n };

/** Reads a key or value up to an unescaped stop character; `\\` escapes the listed characters only. */
function readToken(line: string, at: number, stops: string, escapable: string): [string, number] {
  let out = "";
  let i = at;
  while (i < line.length && !stops.includes(line[i]!)) {
    if (line[i] === "\\" && i + 1 < line.length && escapable.includes(line[i + 1]!)) {
      out += line[i + 1];
      i += 2;
    } else {
      out += line[i];
      i++;
    }
  }
  return [out, i];
}

function parseFieldValue(raw: string): FieldValue {
  if (/^-?\d+i$/.test(raw)) {
    const n = BigInt(raw.slice(0, -1));
    if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new LineProtocolError(`integer value out of range: ${raw}`);
    return { type: "integer", text: n.toString() };
  }
  if (/^\d+u$/.test(raw)) return { type: "unsigned", text: BigInt(raw.slice(0, -1)).toString() };
  if (/^(t|T|true|True|TRUE)$/.test(raw)) return { type: "boolean", text: "true" };
  if (/^(f|F|false|False|FALSE)$/.test(raw)) return { type: "boolean", text: "false" };
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new LineProtocolError(`invalid float value: ${raw}`);
    return { type: "float", text: String(n) };
  }
  throw new LineProtocolError(`invalid field value: ${raw}`);
}

/** One line of line protocol (not a blank line or a # comment). */
export function parseLine(line: string, precision: string): ParsedLine {
  let [measurement, i] = readToken(line, 0, ", ", ", ");
  if (!measurement) throw new LineProtocolError("missing measurement");
  const tags: Array<[string, string]> = [];
  while (line[i] === ",") {
    const [key, j] = readToken(line, i + 1, "=, ", ",= ");
    if (line[j] !== "=" || !key) throw new LineProtocolError("missing tag key");
    const [value, k] = readToken(line, j + 1, ", ", ",= ");
    if (!value) throw new LineProtocolError("missing tag value");
    tags.push([key, value]);
    i = k;
  }
  if (line[i] !== " ") throw new LineProtocolError("missing fields");
  i++;
  const fields = new Map<string, FieldValue>();
  for (;;) {
    const [key, j] = readToken(line, i, "=, ", ",= ");
    if (line[j] !== "=" || !key) throw new LineProtocolError("missing field key");
    i = j + 1;
    if (line[i] === '"') {
      let text = "";
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) i++;
        text += line[i];
        i++;
      }
      if (line[i] !== '"') throw new LineProtocolError("unterminated string field value");
      i++;
      fields.set(key, { type: "string", text });
    } else {
      const [raw, k] = readToken(line, i, ", ", "");
      fields.set(key, parseFieldValue(raw));
      i = k;
    }
    if (line[i] === ",") {
      i++;
      continue;
    }
    break;
  }
  if (fields.size === 0) throw new LineProtocolError("missing fields");
  let time: bigint | undefined;
  if (i < line.length) {
    if (line[i] !== " ") throw new LineProtocolError("invalid field format");
    const rest = line.slice(i + 1);
    if (!/^-?\d+$/.test(rest)) throw new LineProtocolError(`bad timestamp: ${rest}`);
    time = BigInt(rest) * (NS_PER[precision] ?? 1n);
  }
  tags.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { measurement, tags, fields, time };
}

export interface Series {
  measurement: string;
  tags: Array<[string, string]>;
  /** time (ns) → field → value; a rewrite of a point merges its fields (InfluxDB semantics). */
  points: Map<bigint, Map<string, FieldValue>>;
}

/** One bucket: series by key, and the type each field of each measurement was first written with. */
export class Bucket {
  readonly series = new Map<string, Series>();
  readonly fieldTypes = new Map<string, Map<string, FieldType>>();

  /** Writes what it can; returns the type conflicts (those points are dropped, as InfluxDB does). */
  write(lines: ParsedLine[], now: bigint): string[] {
    const conflicts: string[] = [];
    for (const line of lines) {
      const types = this.fieldTypes.get(line.measurement) ?? new Map<string, FieldType>();
      const clash = [...line.fields].find(([k, v]) => types.has(k) && types.get(k) !== v.type);
      if (clash) {
        const [k, v] = clash;
        conflicts.push(
          `input field "${k}" on measurement "${line.measurement}" is type ${v.type}, already exists as type ${types.get(k)}`,
        );
        continue;
      }
      for (const [k, v] of line.fields) types.set(k, v.type);
      this.fieldTypes.set(line.measurement, types);
      const key = [line.measurement, ...line.tags.map(([k, v]) => `${k}=${v}`)].join(",");
      let series = this.series.get(key);
      if (!series) {
        series = { measurement: line.measurement, tags: line.tags, points: new Map() };
        this.series.set(key, series);
      }
      const time = line.time ?? now;
      const fields = series.points.get(time) ?? new Map<string, FieldValue>();
      for (const [k, v] of line.fields) fields.set(k, v);
      series.points.set(time, fields);
    }
    return conflicts;
  }
}

/** RFC3339 with nanoseconds, trailing zeros of the fraction dropped (Flux's output format). */
export function rfc3339(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString().slice(0, 19);
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const digits = frac.toString().padStart(9, "0").replace(/0+$/, "");
  return `${iso}${digits ? `.${digits}` : ""}Z`;
}

export const CSV_TYPE: Record<FieldType, string> = {
  integer: "long",
  unsigned: "unsignedLong",
  float: "double",
  string: "string",
  boolean: "boolean",
};

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export interface CsvColumn {
  label: string;
  datatype: string;
  group: boolean;
}

/** One annotated CSV table: the three annotation rows, the header, the rows, and a blank line. */
export function csvTable(
  table: number,
  columns: CsvColumn[],
  rows: string[][],
  annotations: readonly string[],
): string {
  const out: string[] = [];
  const all: CsvColumn[] = [
    { label: "result", datatype: "string", group: false },
    { label: "table", datatype: "long", group: false },
    ...columns,
  ];
  if (annotations.includes("datatype")) out.push(`#datatype,${all.map((c) => c.datatype).join(",")}`);
  if (annotations.includes("group")) out.push(`#group,${all.map((c) => String(c.group)).join(",")}`);
  if (annotations.includes("default"))
    out.push(
      `#default,_result,${all
        .slice(1)
        .map(() => "")
        .join(",")}`,
    );
  out.push(`,${all.map((c) => c.label).join(",")}`);
  for (const row of rows) out.push(`,,${table},${row.map(csvCell).join(",")}`);
  return `${out.join("\r\n")}\r\n\r\n`;
}
