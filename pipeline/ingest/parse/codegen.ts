/**
 * Turns a compiled format (log-format.ts) into one straight-line JavaScript function, the way ajv and
 * fast-json-stringify do: a loop over steps with a switch per field costs about three times the
 * parsing itself, an unrolled function does not. The generated code only moves forward through the
 * line (indexOf, charCodeAt, fixed-width reads), so it stays linear; nothing from the format is
 * pasted into it except as a number or through `lit` (a JSON string literal that is also safe in a comment).
 */
import { DELIM, type Program, type Step, TARGET } from "./log-format.ts";
import type { ParseOutcome } from "./types.ts";

/** Failure builders the generated code calls with the step index; they live in access-parser.ts. */
export interface Reasons {
  literal(si: number, s: string, pos: number): ParseOutcome;
  bracket(si: number, s: string, pos: number): ParseOutcome;
  lineEnds(si: number, s: string, pos: number): ParseOutcome;
  missing(si: number): ParseOutcome;
  quote(si: number): ParseOutcome;
  time(si: number, s: string, pos: number): ParseOutcome;
  value(si: number, s: string, pos: number, end: number): ParseOutcome;
  trailing(s: string, pos: number): ParseOutcome;
  noTime(): ParseOutcome;
}

/**
 * A string as a JavaScript literal. JSON.stringify leaves U+2028/U+2029 as they are, which ends a
 * `//` comment: they are escaped so no text from a format can ever become code.
 */
function lit(v: string): string {
  return JSON.stringify(v)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const NEEDS_NONEMPTY = new Set<number>([DELIM.token, DELIM.eol, DELIM.word]);

function endOf(st: Step, si: number): string {
  switch (st.delim) {
    case DELIM.quoted:
      return `end = closingQuote(s, pos, ${lit(st.next)}, ${st.last}, anyEscape);
  if (end < 0) return R.quote(${si});
  escaped = anyEscape && hasBackslash(s, pos, end);`;
    case DELIM.eol:
      return "end = n;";
    case DELIM.word:
      return `end = pos;
  while (end < n) { const c = s.charCodeAt(end); if (c === 32 || c === 9) break; end++; }`;
    case DELIM.self:
      return "";
    default:
      return `end = s.indexOf(${lit(st.next)}, pos);
  if (end === -1) return R.lineEnds(${si}, s, pos);`;
  }
}

const DASH = "(end - pos === 1 && s.charCodeAt(pos) === 45)";
const TEXT = `(${DASH} ? null : s.slice(pos, end))`;
/** Quoted values may hold escapes; "-" is null either way. */
const QTEXT = `(escaped ? dashNull(unescapeField(s, pos, end)) : ${TEXT})`;

function timeCode(st: Step, si: number, patternIndex: number): string {
  const t = st.field!.time!;
  switch (t.kind) {
    case "clf-bracketed":
      return `if (s.charCodeAt(pos) !== 91) return R.bracket(${si}, s, pos);
  end = scanClfTime(s, pos + 1, n, parts, tmp);
  if (end < 0 || s.charCodeAt(end) !== 93) return R.time(${si}, s, pos);
  end++;`;
    case "clf":
      return `end = scanClfTime(s, pos, n, parts, tmp);
  if (end < 0) return R.time(${si}, s, pos);`;
    case "iso":
      return `end = scanIsoTime(s, pos, n, parts, tmp);
  if (end < 0) return R.time(${si}, s, pos);`;
    case "pattern":
      return `end = patterns[${patternIndex}].scan(s, pos, n, parts, tmp);
  if (end < 0) return R.time(${si}, s, pos);`;
    case "epoch":
    case "frac":
      return `{ const v = decimalIn(s, pos, end);
    if (v !== v) return R.time(${si}, s, pos);
    parts.${t.kind === "epoch" ? "epochMs" : "fracMs"} = Math.floor(v * ${t.unitMs}); }`;
  }
}

function assign(st: Step, si: number): string {
  const f = st.field!;
  const text = st.delim === DELIM.quoted ? QTEXT : TEXT;
  switch (f.target) {
    case TARGET.host:
      return `host = ${text};`;
    case TARGET.ident:
      return `ident = ${text};`;
    case TARGET.user:
      return `user = ${text};`;
    case TARGET.referrer:
      return `referrer = ${text};`;
    case TARGET.agent:
      return `agent = ${text};`;
    case TARGET.method:
      return `method = ${text};`;
    case TARGET.path:
      return `path = ${text};`;
    case TARGET.protocol:
      return `protocol = ${text};`;
    case TARGET.query:
      // Apache's %q keeps the "?", nginx's $args does not.
      return `query = end > pos && s.charCodeAt(pos) === 63 ? s.slice(pos + 1, end) : ${text};`;
    case TARGET.request:
      return `if (${st.delim === DELIM.quoted ? "escaped" : "false"}) { const r = unescapeField(s, pos, end); splitRequest(r, 0, r.length, req); }
  else splitRequest(s, pos, end, req);
  method = req.method; path = req.path; query = req.query; protocol = req.protocol;
  if (req.junk !== null) { extra ??= {}; extra.request = req.junk; }`;
    case TARGET.uri:
      return `req.path = null; req.query = null;
  if (!${DASH}) setTarget(s, pos, end, req);
  path = req.path; query = req.query;`;
    case TARGET.status:
      return `if (end - pos === 3) {
    const a = s.charCodeAt(pos) - 48, b = s.charCodeAt(pos + 1) - 48, c = s.charCodeAt(pos + 2) - 48;
    if (a < 1 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return R.value(${si}, s, pos, end);
    status = a * 100 + b * 10 + c;
  } else if (!${DASH}) return R.value(${si}, s, pos, end);`;
    case TARGET.bytes:
      return `{ const v = integerIn(s, pos, end);
    if (v >= 0) bytes = v; else if (!${DASH}) return R.value(${si}, s, pos, end); }`;
    case TARGET.time:
      return "";
    case TARGET.extraString:
      return `extra ??= {}; extra[${lit(f.key)}] = ${text};`;
    default:
      return `extra ??= {};
  if (${DASH}) extra[${lit(f.key)}] = null;
  else { const v = decimalIn(s, pos, end); if (v !== v) return R.value(${si}, s, pos, end); extra[${lit(f.key)}] = v; }`;
  }
}

/** JavaScript source of the factory `(rt) => (s, source) => ParseOutcome` for a program. */
export function generateSource(program: Program, keepRaw: boolean): string {
  const out: string[] = [];
  let patterns = 0;
  const quoted = program.steps.some((st) => st.delim === DELIM.quoted);
  program.steps.forEach((st, si) => {
    out.push(`  // step ${si}: ${lit(st.pre)} then ${st.field ? lit(st.field.label) : "end"}`);
    if (st.pre.length === 1) out.push(`  if (s.charCodeAt(pos) !== ${st.preCode}) return R.literal(${si}, s, pos);`);
    else if (st.pre.length > 1) out.push(`  if (!s.startsWith(${lit(st.pre)}, pos)) return R.literal(${si}, s, pos);`);
    if (st.pre.length > 0) out.push(`  pos += ${st.pre.length};`);
    if (!st.field) return;
    const isTime = st.field.time !== null;
    out.push(`  ${endOf(st, si)}`);
    if (NEEDS_NONEMPTY.has(st.delim)) out.push(`  if (end === pos) return R.missing(${si});`);
    if (isTime) out.push(`  ${timeCode(st, si, st.field.time!.kind === "pattern" ? patterns++ : -1)}`);
    out.push(`  ${assign(st, si)}`);
    out.push("  pos = end;");
  });
  const body = `"use strict";
const { parts, tmp, req, patterns, scanClfTime, scanIsoTime, splitRequest, setTarget, unescapeField, closingQuote,
  hasBackslash, decimalIn, integerIn, dashNull, R } = rt;
return function parseAccessLine(s, source) {
  const n = s.length;
  ${quoted ? 'const anyEscape = s.indexOf("\\\\") !== -1;\n  let escaped = false;' : ""}
  let host = null, ident = null, user = null, method = null, path = null, query = null, protocol = null;
  let status = null, bytes = null, referrer = null, agent = null, extra;
  let pos = 0, end = 0;
  ${program.simpleTime ? "" : "parts.reset();"}
${out.join("\n")}
  if (pos < n) { const c = s.charCodeAt(pos); if (c !== 32 && c !== 9) return R.trailing(s, pos); }
  const ts = ${program.simpleTime ? "parts.epochMs" : "parts.result()"};
  if (ts !== ts) return R.noTime();
  const event = { ts, host, ident, user, method, path, query, protocol, status, bytes, referrer, agent, source${keepRaw ? ", raw: s" : ""} };
  if (extra !== undefined) event.extra = extra;
  return { ok: true, event };
};`;
  return body;
}
