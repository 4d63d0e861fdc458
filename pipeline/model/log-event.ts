/**
 * The LogEvent: one JSON object per bus message, key = client host (DESIGN §5).
 * Field names are the archive's Parquet columns and the `events` view's columns.
 */
export interface LogEvent {
  /** Epoch ms, UTC, from the line's own time and zone offset. */
  ts: number;
  host: string | null;
  ident: string | null;
  user: string | null;
  method: string | null;
  path: string | null;
  query: string | null;
  protocol: string | null;
  status: number | null;
  /** null for "-" */
  bytes: number | null;
  referrer: string | null;
  agent: string | null;
  /** Source name from the config (e.g. "spool", "replay"). */
  source: string;
  /** The original line, when the source keeps it. */
  raw?: string;
  /** JSON records from an API keep their own fields here. */
  extra?: Record<string, unknown>;
}

/** Column order of the archive and of the `events` view. */
export const LOG_EVENT_COLUMNS = [
  "ts",
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
  "source",
] as const;

/**
 * A line that did not become an event. Kept with its raw bytes so nothing is lost.
 * `raw` is the line as UTF-8 text when it decodes cleanly; `rawBase64` always holds the exact bytes.
 */
export interface DeadLetter {
  /** When the dead letter was recorded, epoch ms. */
  at: number;
  source: string;
  /** File (or stream) the line came from. */
  file: string | null;
  /** 1-based line number within the file, when known. */
  line: number | null;
  /** Byte offset of the line start within the file. */
  offset: number | null;
  /** A sentence a person understands: `bad timestamp "31/Feb/2024:…"`. */
  reason: string;
  raw: string;
  rawBase64: string;
}
