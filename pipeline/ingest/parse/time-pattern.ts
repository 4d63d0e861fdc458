/**
 * strftime patterns as readers: Apache's `%{format}t` (https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats)
 * and the `timeFormat` of JSON mappings. Compiled once; reading is a linear walk over the ops.
 */
import { LogbenchError } from "../../../connectors/errors.ts";
import { digitsAt, monthAt, type TimeParts, type TimeScratch } from "./time.ts";

type Op =
  | { kind: "lit"; text: string }
  | {
      kind: "num";
      field: "year" | "year2" | "month" | "day" | "hour" | "minute" | "second";
      width: number;
      pad: boolean;
    }
  | { kind: "monthName"; full: boolean }
  | { kind: "dayName" }
  | { kind: "zone" }
  | { kind: "zoneName" }
  | { kind: "epoch" }
  | { kind: "frac" };

export interface TimePattern {
  /** The pattern as given, for messages. */
  readonly source: string;
  /** Reads the pattern at s[i]; returns the index after it, or -1. */
  scan(s: string, i: number, limit: number, parts: TimeParts, tmp: TimeScratch): number;
}

const MONTH_LONG = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

const EXPAND: Record<string, string> = { T: "%H:%M:%S", F: "%Y-%m-%d", D: "%m/%d/%y", R: "%H:%M" };

/** Compiles a strftime pattern; throws CONFIG naming the conversion it does not know. */
export function compileTimePattern(pattern: string): TimePattern {
  const ops: Op[] = [];
  const lit = (text: string) => {
    const last = ops[ops.length - 1];
    if (last?.kind === "lit") last.text += text;
    else ops.push({ kind: "lit", text });
  };
  const walk = (p: string) => {
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c !== "%") {
        lit(c);
        continue;
      }
      const k = p[++i];
      if (k === undefined) throw new LogbenchError("CONFIG", `time pattern ${JSON.stringify(pattern)} ends with "%"`);
      if (EXPAND[k]) walk(EXPAND[k]);
      else if (k === "Y") ops.push({ kind: "num", field: "year", width: 4, pad: true });
      else if (k === "y") ops.push({ kind: "num", field: "year2", width: 2, pad: true });
      else if (k === "m") ops.push({ kind: "num", field: "month", width: 2, pad: true });
      else if (k === "d") ops.push({ kind: "num", field: "day", width: 2, pad: true });
      else if (k === "e") ops.push({ kind: "num", field: "day", width: 2, pad: false });
      else if (k === "H") ops.push({ kind: "num", field: "hour", width: 2, pad: true });
      else if (k === "M") ops.push({ kind: "num", field: "minute", width: 2, pad: true });
      else if (k === "S") ops.push({ kind: "num", field: "second", width: 2, pad: true });
      else if (k === "b" || k === "h") ops.push({ kind: "monthName", full: false });
      else if (k === "B") ops.push({ kind: "monthName", full: true });
      else if (k === "a" || k === "A") ops.push({ kind: "dayName" });
      else if (k === "z") ops.push({ kind: "zone" });
      else if (k === "Z") ops.push({ kind: "zoneName" });
      else if (k === "s") ops.push({ kind: "epoch" });
      else if (k === "f") ops.push({ kind: "frac" });
      else if (k === "%") lit("%");
      else
        throw new LogbenchError(
          "CONFIG",
          `time pattern ${JSON.stringify(pattern)}: %${k} is not supported (supported: %Y %y %m %d %e %H %M %S %b %B %a %z %Z %s %f %T %F %D %R %%)`,
        );
    }
  };
  walk(pattern);
  return { source: pattern, scan: (s, i, limit, parts, tmp) => scanOps(ops, s, i, limit, parts, tmp) };
}

function scanOps(ops: Op[], s: string, i: number, limit: number, parts: TimeParts, tmp: TimeScratch): number {
  let k = i;
  for (const op of ops) {
    switch (op.kind) {
      case "lit":
        if (k + op.text.length > limit || !s.startsWith(op.text, k)) return -1;
        k += op.text.length;
        break;
      case "num": {
        let v: number;
        if (op.pad) {
          if (k + op.width > limit) return -1;
          v = digitsAt(s, k, op.width);
          k += op.width;
        } else {
          // %e: day padded with a space, or one or two digits.
          if (s.charCodeAt(k) === 32) k++;
          v = digitsAt(s, k, 1);
          k++;
          const d2 = k < limit ? digitsAt(s, k, 1) : -1;
          if (v >= 0 && d2 >= 0) {
            v = v * 10 + d2;
            k++;
          }
        }
        if (v < 0) return -1;
        if (op.field === "year2") parts.year = v < 69 ? 2000 + v : 1900 + v;
        else parts[op.field] = v;
        break;
      }
      case "monthName": {
        if (k + 3 > limit) return -1;
        const m = monthAt(s, k);
        if (m === 0) return -1;
        parts.month = m;
        const name = MONTH_LONG[m - 1]!;
        if (op.full && s.slice(k, k + name.length).toLowerCase() === name) k += name.length;
        else k += 3;
        break;
      }
      case "dayName":
        while (k < limit && (s.charCodeAt(k) | 0x20) >= 97 && (s.charCodeAt(k) | 0x20) <= 122) k++;
        break;
      case "zone": {
        const sign = s.charCodeAt(k);
        if (sign === 90) {
          parts.offsetMin = 0;
          k++;
          break;
        }
        const hh = digitsAt(s, k + 1, 2);
        const colon = s.charCodeAt(k + 3) === 58 ? 1 : 0;
        const mm = digitsAt(s, k + 3 + colon, 2);
        if ((sign !== 43 && sign !== 45) || hh < 0 || hh > 23 || mm < 0 || mm > 59 || k + 5 + colon > limit) return -1;
        parts.offsetMin = (sign === 45 ? -1 : 1) * (hh * 60 + mm);
        k += 5 + colon;
        break;
      }
      case "zoneName":
        // Only names that mean UTC are unambiguous; anything else would silently shift times.
        if (s.startsWith("UTC", k) || s.startsWith("GMT", k)) k += 3;
        else return -1;
        parts.offsetMin = 0;
        break;
      case "epoch": {
        const start = k;
        while (k < limit && k - start < 16 && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) k++;
        if (k === start) return -1;
        parts.epochMs = Number(s.slice(start, k)) * 1000;
        break;
      }
      case "frac": {
        const start = k;
        let v = 0;
        let scale = 1;
        while (k < limit && k - start < 9 && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) {
          v = v * 10 + s.charCodeAt(k) - 48;
          scale *= 10;
          k++;
        }
        if (k === start) return -1;
        parts.fracMs = Math.floor((v * 1000) / scale);
        break;
      }
    }
  }
  tmp.fracEnd = k;
  return k;
}
