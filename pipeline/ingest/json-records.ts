/**
 * From a polled JSON answer to records: find the array (`explode`, a dotted path), check each element, take its
 * key and time. Pure functions; every refusal is a sentence for a dead letter.
 */
import { joinKey } from "../model/record.ts";

export type Exploded = { records: unknown[] } | { reason: string };

/**
 * The records of an answer. With a path (`data`, `result.items`), the value there must be an array; without one,
 * the answer is one record (an object) or an array of records.
 */
export function explode(answer: unknown, path: string | undefined): Exploded {
  if (!path) {
    if (Array.isArray(answer)) return { records: answer };
    if (isObject(answer)) return { records: [answer] };
    return { reason: `the answer is a JSON ${kindOf(answer)}, not an object or an array of records` };
  }
  let at: unknown = answer;
  const seen: string[] = [];
  for (const step of path.split(".")) {
    if (!isObject(at)) {
      const where = seen.length ? `"${seen.join(".")}"` : "the answer";
      return { reason: `explode path "${path}": ${where} is a JSON ${kindOf(at)}, not an object` };
    }
    seen.push(step);
    at = at[step];
    if (at === undefined) return { reason: `explode path "${path}": the answer has no "${seen.join(".")}"` };
  }
  if (!Array.isArray(at)) return { reason: `explode path "${path}" holds a JSON ${kindOf(at)}, not an array` };
  return { records: at };
}

export interface RecordRules {
  key: string[];
  /** Field holding the record's time; absent = the poll time. */
  time?: string | undefined;
  /** Unit of a numeric time field. */
  timeUnit: "ms" | "s";
}

export type Checked = { record: Record<string, unknown>; key: string; ts: number | null } | { reason: string };

/** One element of the exploded array, checked: an object with every key field and, when configured, a time. */
export function checkRecord(value: unknown, rules: RecordRules): Checked {
  if (!isObject(value)) return { reason: `a record is a JSON ${kindOf(value)}, not an object` };
  const parts: string[] = [];
  for (const field of rules.key) {
    const v = value[field];
    if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean")
      parts.push(String(v));
    else return { reason: `key field "${field}" is ${v === undefined ? "missing" : `a JSON ${kindOf(v)}`}` };
  }
  let ts: number | null = null;
  if (rules.time) {
    ts = timeOf(value[rules.time], rules.timeUnit);
    if (ts === null)
      return { reason: `time field "${rules.time}" is not a time: ${JSON.stringify(value[rules.time])}` };
  }
  return { record: value, key: joinKey(parts), ts };
}

/** A number in `unit`, or a string Date.parse reads (ISO 8601; a bare year "2019" is 2019-01-01T00:00Z). */
export function timeOf(v: unknown, unit: "ms" | "s"): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return Math.round(unit === "s" ? v * 1000 : v);
  if (typeof v === "string" && v.trim() !== "") {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}
