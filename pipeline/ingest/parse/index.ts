/**
 * The one access-log parser module every source shares (issue 4).
 *
 *   const parser = createParser("combined");              // or "clf", "nginx", "json", a LogFormat string
 *   const out = parseLine(parser, line, "spool");           // line from readLines (lines.ts)
 *   if (out.ok) publish(out.event); else deadLetters.push(toDeadLetter(line, out.reason, "spool", file));
 */
import { Buffer } from "node:buffer";
import { LogbenchError } from "../../../connectors/errors.ts";
import type { DeadLetter } from "../../model/log-event.ts";
import { ChunkLine, type Line } from "../lines.ts";
import { AccessLogParser } from "./access-parser.ts";
import { JsonLineParser } from "./json-parser.ts";
import { compileFormat, looksLikeFormat, PRESETS } from "./log-format.ts";
import { decodeAsciiRange, decodeLine, decodeRange, lossyText } from "./text.ts";
import type { JsonMapping, LineParser, ParseOutcome } from "./types.ts";

export { JSON_FIELDS, type JsonField, type JsonMapping, type LineParser, type ParseOutcome } from "./types.ts";

/** Format names `--format` accepts besides a LogFormat / nginx log_format string. */
export const FORMAT_NAMES: readonly string[] = Object.freeze([...Object.keys(PRESETS), "json"]);

/** The format string behind a name ("combined" → `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`). */
export function formatString(name: string): string | undefined {
  return PRESETS[name.toLowerCase()];
}

/**
 * A parser for a format name (FORMAT_NAMES, any case) or an Apache LogFormat / nginx log_format
 * string. Throws LogbenchError("CONFIG") for an unknown name or a format it cannot read.
 */
export function createParser(format: string, options: { json?: JsonMapping; keepRaw?: boolean } = {}): LineParser {
  const keepRaw = options.keepRaw ?? false;
  const name = format.trim().toLowerCase();
  if (name === "json") return new JsonLineParser(options.json ?? {}, keepRaw);
  if (options.json !== undefined)
    throw new LogbenchError(
      "CONFIG",
      `a JSON field mapping was given for format "${format}"; it applies to "json" only`,
    );
  const preset = PRESETS[name];
  if (preset !== undefined) return new AccessLogParser(name, compileFormat(preset), keepRaw);
  if (!looksLikeFormat(format))
    throw new LogbenchError(
      "CONFIG",
      `unknown format ${JSON.stringify(format)}: use one of ${FORMAT_NAMES.join(", ")}, or a LogFormat string such as '%h %l %u %t "%r" %>s %b'`,
    );
  return new AccessLogParser(format, compileFormat(format), keepRaw);
}

/** Parses a Line from readLines: an over-long line is a dead letter without being parsed. */
export function parseLine(parser: LineParser, line: Line, source: string): ParseOutcome {
  if (line.tooLong) {
    const n = line.bytes.length;
    return { ok: false, reason: `line longer than ${n} bytes (${line.end - line.offset} bytes); kept the first ${n}` };
  }
  if (line instanceof ChunkLine) {
    // The text straight from the chunk, as parser.parse would decode line.bytes; invalid UTF-8 goes the long way
    // below, for its reason.
    const { chunk, start, stop } = line;
    const text = line.ascii ? decodeAsciiRange(chunk, start, stop) : decodeRange(chunk, start, stop);
    if (text !== null) return parser.parseText(text, source);
  }
  return parser.parse(line.bytes, source, line.ascii);
}

/** The dead letter for a line: exact bytes in rawBase64, readable text in raw, where it came from. */
export function toDeadLetter(line: Line, reason: string, source: string, file: string | null): DeadLetter {
  const bytes = line.bytes;
  return {
    at: Date.now(),
    source,
    file,
    line: line.lineNo,
    offset: line.offset,
    reason,
    raw: decodeLine(bytes) ?? lossyText(bytes),
    rawBase64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"),
  };
}
