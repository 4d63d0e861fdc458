/** Numbers behind /api/status and the lag gauges of /metrics. */
import type { MetricsRegistry } from "../../connectors/context.ts";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore, Bus, CommittedOffset } from "../../connectors/types.ts";
import { parseCheckpoint } from "../aggregate/stage.ts";
import { parseDayDir, parseHourDir } from "../archive/layout.ts";

export function sumMetric(registry: MetricsRegistry, name: string): number {
  let total = 0;
  for (const { value } of registry.values.get(name)?.values() ?? []) total += value;
  return total;
}

/** Per group: offsets on the topic past what the group has processed. */
export async function consumerLag(bus: Bus, topic: string, groups: string[]): Promise<Record<string, number>> {
  const ranges = await bus.partitions(topic);
  const out: Record<string, number> = {};
  for (const group of groups) {
    const committed = await bus.committed(group, topic);
    out[group] = ranges.reduce((sum, r) => {
      const at = processed(committed.get(r.partition), r.low);
      // Past the last record (byte offsets: "last + 1" lies inside it) is caught up.
      if (r.last !== undefined && r.last >= 0 && at > r.last) return sum;
      return sum + Math.max(0, r.high - at);
    }, 0);
  }
  return out;
}

/**
 * How far a group has processed a partition. The aggregate group commits its restart point (the oldest open
 * window) and keeps how far it got in the commit metadata as `c`; other groups' commits are their position.
 */
function processed(commit: CommittedOffset | undefined, low: number): number {
  if (!commit) return low;
  const checkpoint = parseCheckpoint(commit.metadata);
  return checkpoint && checkpoint.c > commit.offset ? checkpoint.c : commit.offset;
}

/** "dt=YYYY-MM-DD/hour=HH" of the newest archived hour, or null. */
export async function newestArchivePartition(store: ArchiveStore, topic: string): Promise<string | null> {
  try {
    const days = (await store.list(topic))
      .filter((f) => parseDayDir(f.name) !== null)
      .map((f) => f.name)
      .sort();
    const day = days.at(-1);
    if (!day) return null;
    const hours = (await store.list(`${topic}/${day}`))
      .filter((f) => parseHourDir(f.name) !== null)
      .map((f) => f.name)
      .sort();
    return hours.length ? `${day}/${hours.at(-1)}` : day;
  } catch (err) {
    if (isLogbenchError(err, "NOT_FOUND")) return null;
    throw err;
  }
}

/** Events per second over the last ten one-second samples of a counter. */
export class RateMeter {
  private readonly samples: Array<{ t: number; v: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly read: () => number) {
    this.timer = setInterval(() => {
      this.samples.push({ t: Date.now(), v: this.read() });
      if (this.samples.length > 11) this.samples.shift();
    }, 1000);
    this.timer.unref();
  }

  perSecond(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t === first.t) return 0;
    return Math.round(((last.v - first.v) * 1000) / (last.t - first.t));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
