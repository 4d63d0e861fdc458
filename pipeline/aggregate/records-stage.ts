/**
 * The aggregate group's share of a polling source: each RecordMessage on its records topic → one point of the
 * source's measurement (tags `source` + the configured tag fields, numeric fields from the configured fields, time =
 * the record's `ts`). A batch's points are written, then its offset committed. Points are identified by measurement,
 * tags and time, so a batch delivered again after a crash overwrites the same points and never counts twice.
 *
 * A configured field whose value is not a number is left out of the point and counted
 * (`logbench_records_fields_skipped_total`); a record with no numeric field left makes no point and is counted
 * (`logbench_records_discarded_total`). The record itself is still in the archive (`records` view): nothing is lost.
 * A point the store refuses for good (BAD_REQUEST: an InfluxDB field type conflict, say a field that was an integer
 * and now is not) goes to the dead letters with the reason, instead of stopping the group on the same message after
 * every restart; the rest of its batch is written.
 */
import type { Context } from "../../connectors/context.ts";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { Bus, BusMessage, SeriesPoint, SeriesStore, Subscription } from "../../connectors/types.ts";
import type { RecordStream } from "../ingest/source.ts";
import { busDeadLetter } from "../model/decode-event.ts";
import type { DeadLetter } from "../model/log-event.ts";
import { decodeRecord, type RecordMessage, recordsGroup } from "../model/record.ts";
import type { BusLosses } from "../observe/bus-losses.ts";
import { retryWhileRunning } from "../retry.ts";

export interface RecordsStageDeps {
  bus: Bus;
  series: SeriesStore;
  stream: RecordStream;
  /** The aggregate group's name; the topic's own group is made from it (recordsGroup). */
  group: string;
  /** Where points the store refuses go. */
  deadLetterTopic: string;
  ctx: Context;
  /** Where offsets lost to the bus's retention are reported. */
  losses?: BusLosses;
}

export class RecordsStage {
  private subscription: Subscription | null = null;

  constructor(private readonly deps: RecordsStageDeps) {
    const m = deps.ctx.metrics;
    m.describe("logbench_records_received_total", "counter", "Records read from the bus by the records stage");
    m.describe("logbench_records_sent_total", "counter", "Record points written");
    m.describe("logbench_records_fields_skipped_total", "counter", "Configured record fields that were not numbers");
    m.describe("logbench_records_discarded_total", "counter", "Bus messages that made no point");
    m.describe("logbench_records_errors_total", "counter", "Record point write failures, by code");
    m.describe("logbench_records_refused_total", "counter", "Record points the series store refused (dead letters)");
  }

  async start(): Promise<Subscription> {
    const { bus, stream, group } = this.deps;
    this.subscription = await bus.subscribe({
      topic: stream.topic,
      group: recordsGroup(group, stream.topic),
      onBatch: (partition, messages) => this.onBatch(partition, messages),
      onLost: this.deps.losses?.hook(recordsGroup(group, stream.topic), stream.topic),
    });
    return this.subscription;
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  private async onBatch(partition: number, messages: BusMessage[]): Promise<void> {
    const { series, stream, ctx } = this.deps;
    const labels = { source: stream.source };
    const points: Array<{ point: SeriesPoint; message: BusMessage }> = [];
    let skippedFields = 0;
    let discarded = 0;
    for (const msg of messages) {
      const decoded = decodeRecord(msg);
      if ("reason" in decoded) {
        discarded++; // the archive stage puts it in the dead letters
        continue;
      }
      const made = toPoint(decoded.record, stream);
      skippedFields += made.skipped;
      if (made.point) points.push({ point: made.point, message: msg });
      else discarded++;
    }
    const write = (batch: SeriesPoint[]) =>
      retryWhileRunning(
        ctx,
        { doing: `writing ${stream.measurement} points`, errorMetric: "logbench_records_errors_total" },
        () => series.write(batch),
      );
    let refused = 0;
    try {
      if (points.length) await write(points.map((p) => p.point));
    } catch (err) {
      if (!isLogbenchError(err, "BAD_REQUEST")) throw err;
      refused = await this.writeOneByOne(points, write);
    }
    ctx.metrics.inc("logbench_records_received_total", labels, messages.length);
    ctx.metrics.inc("logbench_records_sent_total", labels, points.length - refused);
    if (skippedFields) ctx.metrics.inc("logbench_records_fields_skipped_total", labels, skippedFields);
    if (discarded) ctx.metrics.inc("logbench_records_discarded_total", labels, discarded);
    const last = messages[messages.length - 1];
    if (last) await this.subscription?.commit(partition, last.offset + 1);
  }

  /** After a refused batch: each point alone, the refused ones to the dead letters (before the commit). */
  private async writeOneByOne(
    points: Array<{ point: SeriesPoint; message: BusMessage }>,
    write: (batch: SeriesPoint[]) => Promise<void>,
  ): Promise<number> {
    const { bus, stream, deadLetterTopic, ctx } = this.deps;
    const refused: DeadLetter[] = [];
    for (const { point, message } of points) {
      try {
        await write([point]);
      } catch (err) {
        if (!isLogbenchError(err, "BAD_REQUEST")) throw err;
        refused.push(busDeadLetter(stream.topic, message, `the series store refused the point: ${err.message}`));
      }
    }
    if (!refused.length) return 0;
    await retryWhileRunning(ctx, { doing: "writing dead letters", errorMetric: "logbench_records_errors_total" }, () =>
      bus.produce(
        deadLetterTopic,
        refused.map((d) => ({ key: d.source, value: JSON.stringify(d) })),
      ),
    );
    ctx.metrics.inc("logbench_records_refused_total", { source: stream.source }, refused.length);
    ctx.logger.warn("The series store refused record points; they are in the dead letters.", {
      source: stream.source,
      points: refused.length,
    });
    return refused.length;
  }
}

/** One record's point, and how many configured fields were not numbers. */
export function toPoint(r: RecordMessage, stream: RecordStream): { point: SeriesPoint | null; skipped: number } {
  const tags: Record<string, string> = { source: r.source };
  for (const t of stream.tags) {
    const v = r.record[t];
    if (v !== undefined && v !== null && typeof v !== "object") tags[t] = String(v);
  }
  const fields: Record<string, number> = {};
  let skipped = 0;
  for (const f of stream.fields) {
    const v = r.record[f];
    if (typeof v === "number" && Number.isFinite(v)) fields[f] = v;
    else skipped++;
  }
  if (Object.keys(fields).length === 0) return { point: null, skipped };
  return { point: { measurement: stream.measurement, tags, fields, time: r.ts }, skipped };
}
