/**
 * The Flux the InfluxDB v2 double understands, and nothing more: exactly the two query shapes the logbench
 * v2 store sends. Anything else is refused (HTTP 400) so a change in the store's queries shows up as a
 * failing test instead of a silently wrong answer.
 *   from(bucket: "b") |> range(start: T[, stop: T]) |> filter(fn: (r) => C and C …)
 *     |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
 *   import "influxdata/influxdb/schema"  schema.measurements(bucket: "b"[, start: T][, stop: T])
 * where T is time(v: "RFC3339"), an RFC3339 literal, integer seconds, now() or a negative duration, and
 * C is r._measurement == "s", r["tag"] == "s" or r.tag == "s". Flux reference: https://docs.influxdata.com/flux/v0/
 */
import { type Bucket, CSV_TYPE, type CsvColumn, csvTable, rfc3339 } from "./v2-double-engine.ts";

export class UnsupportedFlux extends Error {}

export type FluxPlan =
  | { kind: "select"; bucket: string; start: bigint; stop: bigint; conditions: Array<[string, string]> }
  | { kind: "measurements"; bucket: string; start: bigint; stop: bigint };

/** Split on `sep` outside string literals, brackets and parentheses. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(from, i).trim());
      from = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(text.slice(from).trim());
  return parts;
}

function stringLiteral(text: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/s.exec(text.trim());
  if (!m) throw new UnsupportedFlux(`expected a string literal, got ${text}`);
  const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\", $: "$" };
  return m[1]!.replace(/\\(.)/gs, (_, c: string) => escapes[c] ?? `\\${c}`);
}

/** name(key: value, …) → name and its arguments. */
function call(text: string): { name: string; args: Map<string, string> } {
  const m = /^([\w.]+)\((.*)\)$/s.exec(text.trim());
  if (!m) throw new UnsupportedFlux(`expected a function call, got ${text}`);
  const args = new Map<string, string>();
  if (m[2]!.trim()) {
    for (const arg of splitTop(m[2]!, ",")) {
      const colon = arg.indexOf(":");
      if (colon < 0) throw new UnsupportedFlux(`expected key: value, got ${arg}`);
      args.set(arg.slice(0, colon).trim(), arg.slice(colon + 1).trim());
    }
  }
  return { name: m[1]!, args };
}

function rfc3339ToNs(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new UnsupportedFlux(`bad time ${text}`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0") || "0");
}

const DURATION_NS: Record<string, bigint> = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n };
DURATION_NS.m = 60n * DURATION_NS.s!;
DURATION_NS.h = 60n * DURATION_NS.m;
DURATION_NS.d = 24n * DURATION_NS.h;

function timeValue(text: string, now: bigint): bigint {
  const t = text.trim();
  const fn = /^time\(v:\s*(".*")\)$/s.exec(t);
  if (fn) return rfc3339ToNs(stringLiteral(fn[1]!));
  if (/^\d{4}-/.test(t)) return rfc3339ToNs(t);
  if (/^-?\d+$/.test(t)) return BigInt(t) * DURATION_NS.s!;
  if (t === "now()") return now;
  const d = /^-(\d+)(ns|us|ms|s|m|h|d)$/.exec(t);
  if (d) return now - BigInt(d[1]!) * DURATION_NS[d[2]!]!;
  throw new UnsupportedFlux(`unsupported time expression ${t}`);
}

function condition(text: string): [string, string] {
  const m = /^r(?:\.(\w+)|\[\s*(".*")\s*\])\s*==\s*(".*")$/s.exec(text.trim());
  if (!m) throw new UnsupportedFlux(`unsupported filter condition ${text}`);
  return [m[1] ?? stringLiteral(m[2]!), stringLiteral(m[3]!)];
}

/** Parse the query into a plan, or throw UnsupportedFlux. */
export function planFlux(query: string, now: bigint): FluxPlan {
  let text = query.trim();
  const imports = [...text.matchAll(/^import\s+("[^"]*")\s*$/gm)].map((m) => stringLiteral(m[1]!));
  text = text.replace(/^import\s+"[^"]*"\s*$/gm, "").trim();
  if (imports.some((i) => i !== "influxdata/influxdb/schema")) throw new UnsupportedFlux(`unsupported import`);
  const stages = splitTop(text, "|>").map(call);
  const first = stages[0]!;
  if (first.name === "schema.measurements" && stages.length === 1 && imports.length === 1) {
    const bucket = stringLiteral(first.args.get("bucket") ?? "");
    const start = timeValue(first.args.get("start") ?? "-30d", now);
    const stop = timeValue(first.args.get("stop") ?? "now()", now);
    return { kind: "measurements", bucket, start, stop };
  }
  const names = stages.map((s) => s.name).join(" |> ");
  if (names !== "from |> range |> filter |> pivot") {
    throw new UnsupportedFlux(`unsupported pipeline ${names}; the double knows from |> range |> filter |> pivot`);
  }
  const [from, range, filter, pivot] = stages as [typeof first, typeof first, typeof first, typeof first];
  const bucket = stringLiteral(from.args.get("bucket") ?? "");
  const start = timeValue(range.args.get("start") ?? "", now);
  const stop = timeValue(range.args.get("stop") ?? "now()", now);
  const fn = /^\(r\)\s*=>\s*(.*)$/s.exec(filter.args.get("fn") ?? "");
  if (!fn) throw new UnsupportedFlux("filter needs fn: (r) => …");
  const conditions = splitTop(fn[1]!, " and ").map(condition);
  const pivotArgs = [...pivot.args].map(([k, v]) => `${k}:${v.replace(/\s+/g, "")}`).join(",");
  if (pivotArgs !== 'rowKey:["_time"],columnKey:["_field"],valueColumn:"_value"') {
    throw new UnsupportedFlux(`unsupported pivot(${pivotArgs})`);
  }
  return { kind: "select", bucket, start, stop, conditions };
}

/** Run a plan against a bucket and render annotated CSV, one table per series (as pivot groups them). */
export function runFlux(plan: FluxPlan, bucket: Bucket, annotations: readonly string[]): string {
  const inRange = (t: bigint) => t >= plan.start && t < plan.stop;
  if (plan.kind === "measurements") {
    const names = new Set<string>();
    for (const s of bucket.series.values()) if ([...s.points.keys()].some(inRange)) names.add(s.measurement);
    if (names.size === 0) return "\r\n";
    const rows = [...names].sort().map((n) => [n]);
    return csvTable(0, [{ label: "_value", datatype: "string", group: false }], rows, annotations);
  }
  let out = "";
  let table = 0;
  const keys = [...bucket.series.keys()].sort();
  for (const key of keys) {
    const s = bucket.series.get(key)!;
    const tags = new Map(s.tags);
    const match = plan.conditions.every(([k, v]) => (k === "_measurement" ? s.measurement === v : tags.get(k) === v));
    if (!match) continue;
    const times = [...s.points.keys()].filter(inRange).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (times.length === 0) continue;
    const fieldNames = [...new Set(times.flatMap((t) => [...s.points.get(t)!.keys()]))].sort();
    const types = bucket.fieldTypes.get(s.measurement)!;
    const columns: CsvColumn[] = [
      { label: "_start", datatype: "dateTime:RFC3339", group: true },
      { label: "_stop", datatype: "dateTime:RFC3339", group: true },
      { label: "_time", datatype: "dateTime:RFC3339", group: false },
      { label: "_measurement", datatype: "string", group: true },
      ...s.tags.map(([k]) => ({ label: k, datatype: "string", group: true })),
      ...fieldNames.map((f) => ({ label: f, datatype: CSV_TYPE[types.get(f)!], group: false })),
    ];
    const rows = times.map((t) => {
      const fields = s.points.get(t)!;
      return [
        rfc3339(plan.start),
        rfc3339(plan.stop),
        rfc3339(t),
        s.measurement,
        ...s.tags.map(([, v]) => v),
        ...fieldNames.map((f) => fields.get(f)?.text ?? ""),
      ];
    });
    out += csvTable(table++, columns, rows, annotations);
  }
  return out || "\r\n";
}
