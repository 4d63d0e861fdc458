/**
 * A bus message → LogEvent, checked. Anything may be on a topic (another producer, an older logbench, a
 * hand-typed test message); one bad message must not stop a consumer group, or it would stop again on the same
 * message after every restart. Missing optional fields become null.
 */
import type { BusMessage } from "../../connectors/types.ts";
import { LOG_EVENT_COLUMNS, type LogEvent } from "./log-event.ts";

const NUMERIC = new Set(["status", "bytes"]);
/** Readable text for a dead letter's `raw` (bad bytes as U+FFFD; `rawBase64` keeps them exactly). */
const decoder = new TextDecoder();
/**
 * For decoding: text that is not valid UTF-8 is not a LogEvent. Decoded with replacement characters it passed,
 * and its bytes, spooled as they are, then made DuckDB's read_json refuse the archive's whole spool at the roll.
 */
const strict = new TextDecoder("utf-8", { fatal: true });

export type Decoded = { event: LogEvent } | { reason: string };

export function decodeEvent(message: BusMessage): Decoded {
  let text: string;
  try {
    text = strict.decode(message.value);
  } catch {
    return { reason: "bus message is not valid UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: "bus message is not JSON" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { reason: "bus message is not a JSON object" };
  const record = value as Record<string, unknown>;
  if (typeof record.ts !== "number" || !Number.isFinite(record.ts)) return { reason: "bus message has no numeric ts" };
  if (typeof record.source !== "string") return { reason: "bus message has no source" };
  for (const column of LOG_EVENT_COLUMNS) {
    if (column === "ts" || column === "source") continue;
    const v = record[column];
    if (v === undefined) record[column] = null;
    else if (v !== null && typeof v !== (NUMERIC.has(column) ? "number" : "string"))
      return { reason: `bus message field ${column} is a ${typeof v}` };
  }
  return { event: record as unknown as LogEvent };
}

/** A dead letter for a bus message that is not a LogEvent (file = topic, line = partition, offset = offset). */
export function busDeadLetter(topic: string, message: BusMessage, reason: string) {
  return {
    at: Date.now(),
    source: "bus",
    file: topic,
    line: message.partition,
    offset: message.offset,
    reason,
    raw: decoder.decode(message.value),
    rawBase64: Buffer.from(message.value).toString("base64"),
  };
}
