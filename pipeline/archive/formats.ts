/**
 * What an archive stage instance archives from its topic: how a bus message is checked (a message that is not
 * one goes to the dead letters) and which Parquet columns it fills. One stage, two formats: LogEvents on the
 * events topic, API records on each records topic.
 */
import type { BusMessage } from "../../connectors/types.ts";
import { decodeEvent } from "../model/decode-event.ts";
import { scanEventTs } from "../model/event-scan.ts";
import type { LogEvent } from "../model/log-event.ts";
import { decodeRecord, type RecordMessage } from "../model/record.ts";
import { EVENT_LAYOUT, RECORD_LAYOUT, type RowLayout } from "./parquet.ts";

export interface ArchiveFormat<R> {
  /** The row and its event time (which picks its dt=/hour= bucket), or why the message is not one. */
  decode(message: BusMessage): { row: R; ts: number } | { reason: string };
  /**
   * For a layout that spools the message text (no row needed): the event time when the text is certainly one of
   * this format's rows, checked without decoding it; null sends the message through `decode`.
   */
  spoolTs?(message: BusMessage): number | null;
  layout: RowLayout<R>;
}

export const EVENTS_FORMAT: ArchiveFormat<LogEvent> = {
  decode(message) {
    const d = decodeEvent(message);
    return "reason" in d ? d : { row: d.event, ts: d.event.ts };
  },
  spoolTs: (message) => scanEventTs(message.value),
  layout: EVENT_LAYOUT,
};

export const RECORDS_FORMAT: ArchiveFormat<RecordMessage> = {
  decode(message) {
    const d = decodeRecord(message);
    return "reason" in d ? d : { row: d.record, ts: d.record.ts };
  },
  layout: RECORD_LAYOUT,
};
