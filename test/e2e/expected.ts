/**
 * What the pipeline must produce for a CLF file, computed here independently of logbench's parser: a plain
 * regex decides which lines are CLF, and the timestamp is read with its own zone offset.
 */
import { readFileSync } from "node:fs";

const CLF =
  /^(\S+) \S+ \S+ \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "([^"]*)" \d{3} (?:\d+|-)$/;
/** Method, target, optional protocol; the path is the target up to its `?`. */
const REQUEST = /^\S+ (.+?)(?: HTTP\/[\d.]+)?$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface Expected {
  lines: string[];
  good: string[];
  bad: string[];
  /** `host ts path` of each good line (ts in epoch ms). */
  keys: string[];
  /** Events per minute start (epoch ms). */
  perMinute: Map<number, number>;
}

/** The lines of the files, in order, without the newlines. */
export function linesOf(files: string[]): string[] {
  return files.flatMap((file) => {
    const lines = readFileSync(file, "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines;
  });
}

export function expectedFromFiles(files: string[]): Expected {
  return expectedFromLines(linesOf(files));
}

export function expectedFromLines(lines: string[]): Expected {
  const out: Expected = { lines: [], good: [], bad: [], keys: [], perMinute: new Map() };
  for (const line of lines) {
    out.lines.push(line);
    const m = CLF.exec(line);
    if (!m) {
      out.bad.push(line);
      continue;
    }
    out.good.push(line);
    const [, host, d, mon, y, hh, mm, ss, sign, oh, om, request] = m;
    const offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
    const ts = Date.UTC(Number(y), MONTHS.indexOf(mon!), Number(d), Number(hh), Number(mm), Number(ss)) - offset;
    const target = REQUEST.exec(request!)?.[1] ?? null;
    out.keys.push(eventKey(host!, ts, target === null ? null : target.split("?")[0]!));
    const minute = Math.floor(ts / 60_000) * 60_000;
    out.perMinute.set(minute, (out.perMinute.get(minute) ?? 0) + 1);
  }
  return out;
}

export function eventKey(host: unknown, ts: unknown, path: unknown): string {
  return `${String(host)} ${Number(ts)} ${String(path)}`;
}

/** Multiset difference summary for readable failures: what is missing and what is extra (first few). */
export function multisetDiff(actual: string[], expected: string[]): { missing: string[]; extra: string[] } {
  const counts = new Map<string, number>();
  for (const e of expected) counts.set(e, (counts.get(e) ?? 0) + 1);
  const extra: string[] = [];
  for (const a of actual) {
    const n = counts.get(a);
    if (n) counts.set(a, n - 1);
    else extra.push(a);
  }
  const missing = [...counts].flatMap(([k, n]) => Array(n).fill(k) as string[]);
  return { missing: missing.slice(0, 5), extra: extra.slice(0, 5) };
}
