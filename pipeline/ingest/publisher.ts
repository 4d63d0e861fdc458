/**
 * Puts parsed events and dead letters on the bus. Events are keyed by client host (one host, one
 * partition, so per-host order holds and unique-host counts add up across partitions); the message
 * timestamp is the ingest time, so "the last 15 minutes of the stream" means what arrived lately even when
 * the log lines are from 1995.
 */
import type { Context } from "../../connectors/context.ts";
import type { Bus, PartitionRange } from "../../connectors/types.ts";
import type { DeadLetter, LogEvent } from "../model/log-event.ts";
import type { RecordMessage } from "../model/record.ts";
import { encodedBound, encodeEvent } from "./parse/event-json.ts";

export interface Topics {
  events: string;
  deadLetters: string;
}

export class Publisher {
  constructor(
    readonly bus: Bus,
    readonly topics: Topics,
    private readonly ctx: Context,
  ) {
    ctx.metrics.describe("logbench_ingest_events_total", "counter", "Events put on the bus");
    ctx.metrics.describe("logbench_ingest_dead_letters_total", "counter", "Lines kept as dead letters");
    ctx.metrics.describe("logbench_ingest_bytes_total", "counter", "Bytes of event JSON put on the bus");
    ctx.metrics.describe("logbench_ingest_records_total", "counter", "API records put on their records topic");
  }

  /**
   * Records of a polling source on its records topic (key = record key, so one key keeps to one partition) and
   * its dead letters; resolves once every message is acknowledged by the bus.
   */
  async publishRecords(source: string, topic: string, records: RecordMessage[], deadLetters: DeadLetter[]) {
    const now = Date.now();
    const jobs: Promise<void>[] = [];
    if (records.length)
      jobs.push(
        this.bus.produce(
          topic,
          records.map((r) => ({ key: r.key, value: JSON.stringify(r), timestamp: now })),
        ),
      );
    if (deadLetters.length)
      jobs.push(
        this.bus.produce(
          this.topics.deadLetters,
          deadLetters.map((d) => ({ key: d.source, value: JSON.stringify(d), timestamp: now })),
        ),
      );
    await Promise.all(jobs);
    this.ctx.metrics.inc("logbench_ingest_records_total", { source }, records.length);
    this.ctx.metrics.inc("logbench_ingest_dead_letters_total", { source }, deadLetters.length);
  }

  /** High watermarks of one topic. */
  async topicMarks(topic: string): Promise<Record<string, number>> {
    return toRecord(await this.bus.partitions(topic));
  }

  /** Resolves once every record is acknowledged by the bus. */
  async publish(source: string, events: LogEvent[], deadLetters: DeadLetter[]): Promise<void> {
    const now = Date.now();
    // Every event's JSON (the bytes JSON.stringify gives) into one buffer; each message's value is a view of it.
    let bound = 0;
    for (const e of events) bound += encodedBound(e);
    const buf = Buffer.allocUnsafe(bound);
    let at = 0;
    const messages = events.map((e) => {
      const start = at;
      at = encodeEvent(e, buf, at);
      return { key: e.host, value: buf.subarray(start, at), timestamp: now };
    });
    const jobs: Promise<void>[] = [];
    if (events.length) jobs.push(this.bus.produce(this.topics.events, messages));
    if (deadLetters.length) {
      jobs.push(
        this.bus.produce(
          this.topics.deadLetters,
          deadLetters.map((d) => ({ key: d.source, value: JSON.stringify(d), timestamp: now })),
        ),
      );
    }
    await Promise.all(jobs);
    const labels = { source };
    this.ctx.metrics.inc("logbench_ingest_events_total", labels, events.length);
    this.ctx.metrics.inc("logbench_ingest_dead_letters_total", labels, deadLetters.length);
    this.ctx.metrics.inc("logbench_ingest_bytes_total", labels, at);
  }

  /** High watermarks of both topics, taken after an acknowledged batch. */
  async marks(): Promise<{ events: Record<string, number>; deadLetters: Record<string, number> }> {
    const [events, deadLetters] = await Promise.all([
      this.bus.partitions(this.topics.events),
      this.bus.partitions(this.topics.deadLetters),
    ]);
    return { events: toRecord(events), deadLetters: toRecord(deadLetters) };
  }
}

function toRecord(ranges: PartitionRange[]): Record<string, number> {
  return Object.fromEntries(ranges.map((r) => [String(r.partition), r.high]));
}
