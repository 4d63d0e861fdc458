/**
 * Access-log lines (CLF, combined, nginx, any LogFormat): a compiled format (log-format.ts) turned
 * into one function (codegen.ts), plus the runtime pieces that function calls and the reasons a
 * person reads when a line does not parse. No regex, no backtracking: linear in the line's length.
 */
import { generateSource, type Reasons } from "./codegen.ts";
import type { Program, Step } from "./log-format.ts";
import { newRequestParts, setTarget, splitRequest } from "./request.ts";
import { decodeAsciiLine, decodeLine, firstInvalidUtf8, show, unescapeField } from "./text.ts";
import { decimalIn, newTimeScratch, scanClfTime, scanIsoTime, TimeParts } from "./time.ts";
import type { TimePattern } from "./time-pattern.ts";
import type { LineParser, ParseOutcome } from "./types.ts";

const isSpace = (c: number) => c === 32 || c === 9;

function fail(reason: string): ParseOutcome {
  return { ok: false, reason };
}

/** A whole non-negative integer of at most 15 digits filling s[start..end), -1 otherwise. */
export function integerIn(s: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function hasBackslash(s: string, start: number, end: number): boolean {
  const b = s.indexOf("\\", start);
  return b !== -1 && b < end;
}

/**
 * Index of the quote that closes a quoted field starting at `pos`: the first `"` not escaped by a
 * backslash and followed by `next` (the format's next literal) or, for the last field, by end of line
 * or whitespace. Quotes failing the test are part of the value, so loggers that do not escape quotes
 * (old Apache, some proxies) can still be read. Each backslash run is counted once, by the quote after it.
 */
export function closingQuote(s: string, pos: number, next: string, last: boolean, anyEscape: boolean): number {
  const n = s.length;
  let q = s.indexOf('"', pos);
  while (q !== -1) {
    let escaped = false;
    if (anyEscape) {
      let k = q - 1;
      while (k >= pos && s.charCodeAt(k) === 92) k--;
      escaped = ((q - 1 - k) & 1) === 1;
    }
    if (!escaped) {
      if (last) {
        if (q + 1 === n || isSpace(s.charCodeAt(q + 1))) return q;
      } else if (next.length === 1 || s.startsWith(next, q)) return q;
    }
    q = s.indexOf('"', q + 1);
  }
  return -1;
}

function reasons(steps: Step[]): Reasons {
  const label = (si: number) => steps[si]?.field?.label ?? "end of line";
  const before = (si: number) => {
    const f = steps[si]?.field;
    return f ? `before ${f.label}` : `after ${steps[si - 1]?.field?.label ?? "start"}`;
  };
  const literal = (si: number, s: string, pos: number, pre: string): ParseOutcome => {
    if (pos + pre.length > s.length && pre.startsWith(s.slice(pos))) {
      return fail(steps[si]?.field ? `line ends before ${label(si)}` : `line ends ${before(si)}`);
    }
    return fail(
      `expected ${JSON.stringify(pre)} ${before(si)} at column ${pos + 1}, found ${show(s.slice(pos, pos + 20), 20)}`,
    );
  };
  return {
    literal: (si, s, pos) => literal(si, s, pos, steps[si]!.pre),
    bracket: (si, s, pos) => literal(si, s, pos, "["),
    lineEnds: (si, s, pos) => {
      if (pos >= s.length) return fail(`line ends before ${label(si)}`);
      const next = steps.slice(si + 1).find((st) => st.field)?.field?.label ?? "the rest of the format";
      return fail(`line ends before ${next} (last read: ${label(si)} ${show(s.slice(pos))})`);
    },
    missing: (si) => fail(`missing ${label(si)}`),
    quote: (si) => fail(`missing closing quote in ${label(si)}`),
    time: (si, s, pos) => fail(`bad timestamp ${show(timeText(s, pos, steps[si]!))}`),
    value: (si, s, pos, end) => fail(`bad ${label(si)} ${show(s.slice(pos, end))}`),
    trailing: (s, pos) => fail(`unexpected text at the end of the line ${show(s.slice(pos))}`),
    noTime: () => fail("the time fields do not form a date"),
  };
}

/** The time text quoted in a "bad timestamp" reason. */
function timeText(s: string, pos: number, st: Step): string {
  if (st.field?.time?.kind === "clf-bracketed" && s.charCodeAt(pos) === 91) {
    const close = s.indexOf("]", pos);
    return close !== -1 && close - pos < 64 ? s.slice(pos + 1, close) : s.slice(pos + 1, pos + 40);
  }
  const stop = st.next ? s.indexOf(st.next, pos) : -1;
  return stop !== -1 && stop - pos < 64 ? s.slice(pos, stop) : s.slice(pos, pos + 40);
}

type LineFn = (s: string, source: string) => ParseOutcome;

export class AccessLogParser implements LineParser {
  readonly format: string;
  /** The generated source, for tests and for anyone debugging a format. */
  readonly source: string;
  private readonly run: LineFn;

  constructor(format: string, program: Program, keepRaw: boolean) {
    this.format = format;
    this.source = generateSource(program, keepRaw);
    const patterns: TimePattern[] = [];
    for (const st of program.steps) if (st.field?.time?.kind === "pattern") patterns.push(st.field.time.pattern);
    const rt = {
      parts: new TimeParts(),
      tmp: newTimeScratch(),
      req: newRequestParts(),
      patterns,
      scanClfTime,
      scanIsoTime,
      splitRequest,
      setTarget,
      unescapeField,
      closingQuote,
      hasBackslash,
      decimalIn,
      integerIn,
      dashNull: (v: string) => (v === "-" ? null : v),
      R: reasons(program.steps),
    };
    // The generated code only sees `rt`; see codegen.ts for why it is generated.
    this.run = new Function("rt", this.source)(rt) as LineFn;
  }

  parse(line: Uint8Array, source: string, ascii = false): ParseOutcome {
    if (ascii) return this.parseText(decodeAsciiLine(line), source);
    const text = decodeLine(line);
    if (text === null) return fail(`invalid UTF-8 at byte ${firstInvalidUtf8(line)}`);
    return this.parseText(text, source);
  }

  parseText(line: string, source: string): ParseOutcome {
    try {
      const n = line.length;
      return this.run(n > 0 && line.charCodeAt(n - 1) === 13 ? line.slice(0, n - 1) : line, source);
    } catch (err) {
      // Not expected: kept so that a bug costs one dead letter, never the stream.
      return fail(`parser error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
