import type { LogEvent } from "../../model/log-event.ts";

/** What parsing one line gives: an event, or the reason a person reads in the dead letter. */
export type ParseOutcome = { ok: true; event: LogEvent } | { ok: false; reason: string };

/**
 * One compiled log format. `parse` never throws, whatever the bytes, and takes time linear in the
 * line's length; it keeps no state between lines, so one parser serves a whole source.
 */
export interface LineParser {
  /** The format as given to createParser ("clf", "json", or the LogFormat string). */
  readonly format: string;
  /**
   * Parses one line (without its newline; a trailing `\r` is ignored). `ascii`: the caller knows every
   * byte is below 0x80 (Line.ascii from readLines), so the bytes are copied rather than decoded.
   */
  parse(line: Uint8Array, source: string, ascii?: boolean): ParseOutcome;
  /** The same for a line that is already text (TCP and HTTP sources). */
  parseText(line: string, source: string): ParseOutcome;
}

/**
 * How JSON lines map onto LogEvent fields. Paths are field names, or dot paths into nested objects
 * (`http.request.method`); a key that itself holds dots is found first. Fields not mapped and not
 * found under a usual name are null; the record's other fields go to `extra`.
 */
export interface JsonMapping {
  /**
   * Path of the event time. Default: the first present of `time`, `timestamp`, `@timestamp`, `ts`,
   * `time_local`, `date`, `datetime`. null: the record has no time; the parse time is used (API records).
   */
  time?: string | null;
  /**
   * How the time is written: `auto` (default: ISO 8601 or CLF text, epoch seconds or ms by size),
   * `iso8601`, `clf`, `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_ns`, or a strftime pattern
   * such as `%Y-%m-%d %H:%M:%S %z`.
   */
  timeFormat?: string;
  /** LogEvent field name (or `request` for a whole request line, `uri` for path?query) → path. */
  fields?: Partial<Record<JsonField, string>>;
  /** Copy the record's other fields into `extra` (default true). */
  keepExtra?: boolean;
}

export const JSON_FIELDS = [
  "host",
  "ident",
  "user",
  "method",
  "path",
  "query",
  "protocol",
  "status",
  "bytes",
  "referrer",
  "agent",
  "request",
  "uri",
] as const;
export type JsonField = (typeof JSON_FIELDS)[number];
