/**
 * A record from a polled JSON API on its own bus topic: one JSON object per message, key = the record's key.
 *   {source, key, ts, record}
 * `key` is the record's configured key fields joined (see `joinKey`), `ts` the record's time in epoch ms (its
 * `time` field, or the poll time), `record` the object as the API sent it. The archive keeps these four as Parquet
 * columns (`record` as JSON text), the records stage turns each into one series point.
 */
import type { BusMessage } from "../../connectors/types.ts";

export interface RecordMessage {
  source: string;
  key: string;
  /** Epoch ms. */
  ts: number;
  record: Record<string, unknown>;
}

/** Column order of the records archive and of the `records` view. */
export const RECORD_COLUMNS = ["source", "key", "ts", "record"] as const;

const decoder = new TextDecoder();

/** A bus message → RecordMessage, checked; a reason when it is not one (it goes to the dead letters). */
export function decodeRecord(message: BusMessage): { record: RecordMessage } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(message.value));
  } catch {
    return { reason: "bus message is not JSON" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { reason: "bus message is not a JSON object" };
  const m = value as Record<string, unknown>;
  if (typeof m.source !== "string") return { reason: "record message has no source" };
  if (typeof m.key !== "string") return { reason: "record message has no key" };
  if (typeof m.ts !== "number" || !Number.isFinite(m.ts)) return { reason: "record message has no numeric ts" };
  if (m.record === null || typeof m.record !== "object" || Array.isArray(m.record))
    return { reason: "record message has no record object" };
  return { record: m as unknown as RecordMessage };
}

/**
 * The key values joined with "|"; a "|" or "\" inside a value is escaped with "\", so two different value lists
 * never join to the same key (a collision would drop a record as a duplicate).
 */
export function joinKey(values: string[]): string {
  return values.map((v) => v.replace(/[\\|]/g, "\\$&")).join("|");
}

/**
 * The consumer group a stage uses for a records topic: its own group name plus the topic. One group per topic,
 * because Kafka assigns a group's partitions over the union of its members' topics, so members of one group that
 * subscribe to different topics would be handed partitions they do not read.
 */
export function recordsGroup(group: string, topic: string): string {
  return `${group}.${topic}`;
}
