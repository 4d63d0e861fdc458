/**
 * Offsets the bus deleted (retention) before a consumer group read them: the one place that says so. Each loss is
 * logged once as an ERROR naming group, topic, partition and offset range, counted exactly in
 * `logbench_bus_lost_total{group,topic,partition}`, and kept as a problem so /healthz answers 503 until an operator
 * has looked (a restart clears it; the counter and, for the archive, the gap records under `_logbench/gaps/` stay).
 */
import type { Context } from "../../connectors/context.ts";

/** One lost range: offsets [from, to) of a partition, never read by `group`. */
export interface BusLoss {
  group: string;
  topic: string;
  partition: number;
  from: number;
  to: number;
}

export class BusLosses {
  private readonly lost: BusLoss[] = [];

  constructor(private readonly ctx: Context) {
    ctx.metrics.describe(
      "logbench_bus_lost_total",
      "counter",
      "Bus offsets deleted by retention before the group read them (lost)",
    );
  }

  /** Log, count and remember one loss. */
  record(loss: BusLoss): void {
    const { group, topic, partition, from, to } = loss;
    this.lost.push(loss);
    this.ctx.metrics.inc("logbench_bus_lost_total", { group, topic, partition: String(partition) }, to - from);
    this.ctx.logger.error("Offsets were deleted by the bus's retention before this group read them; they are lost.", {
      group,
      topic,
      partition,
      firstLost: from,
      lastLost: to - 1,
      lost: to - from,
    });
  }

  /** A SubscribeOptions.onLost for a stage that keeps nothing of its own about a loss. */
  hook(group: string, topic: string): (partition: number, from: number, to: number) => Promise<void> {
    return async (partition, from, to) => this.record({ group, topic, partition, from, to });
  }

  /** One line per group, topic and partition that lost offsets, for /healthz. */
  problems(): string[] {
    const byKey = new Map<string, { loss: BusLoss; count: number; first: number; last: number }>();
    for (const l of this.lost) {
      const key = `${l.group}\u0000${l.topic}\u0000${l.partition}`;
      const seen = byKey.get(key);
      if (seen) {
        seen.count += l.to - l.from;
        seen.first = Math.min(seen.first, l.from);
        seen.last = Math.max(seen.last, l.to - 1);
      } else byKey.set(key, { loss: l, count: l.to - l.from, first: l.from, last: l.to - 1 });
    }
    return [...byKey.values()].map(
      ({ loss, count, first, last }) =>
        `bus: group ${loss.group} lost ${count} offsets of ${loss.topic}/${loss.partition} to retention (between ${first} and ${last})`,
    );
  }
}
