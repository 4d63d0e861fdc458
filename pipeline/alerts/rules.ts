/**
 * Rule conditions: each rule type turns what the daemon knows (window summaries, counters, consumer lag) into
 * "active or not, and the value that decided it". A condition that cannot decide yet (fewer windows than the
 * rule looks at, lag unknown) answers null, and the rule keeps its state: a restart never resolves or fires a
 * rule on missing data.
 */
import type { WindowSummary } from "../model/window.ts";
import type { AlertRule, WindowMeasure } from "./schema.ts";

export interface Observation {
  now: number;
  /** Newest first, as the aggregate stage hands them out; null until a flush has happened since start. */
  windows: WindowSummary[] | null;
  /** Ingested events per source name, from logbench_ingest_events_total. */
  eventsBySource: Record<string, number>;
  /** Dead letters ingested so far (all sources). */
  deadLetters: number;
  /** Lag per consumer group, or null when the bus could not say. */
  lag: Record<string, number> | null;
}

export interface Verdict {
  active: boolean;
  value: number;
  /** What was compared, for the log and the alert's description. */
  detail: string;
}

export interface Condition {
  evaluate(o: Observation): Verdict | null;
}

const MEASURE_KEY: Record<WindowMeasure, keyof WindowSummary> = {
  count: "count",
  bytes: "bytes",
  status_4xx: "status4xx",
  status_5xx: "status5xx",
  unique_hosts: "uniqueHosts",
};

const measureOf = (w: WindowSummary, m: WindowMeasure) => w[MEASURE_KEY[m]] as number;

/** The condition object for a rule; stateful ones (silence, lag `for`, dead-letter span) keep their history. */
export function conditionFor(rule: AlertRule, startedAt: number): Condition {
  switch (rule.type) {
    case "window":
      return {
        evaluate: (o) => {
          if (!o.windows) return null;
          const values: number[] = [];
          for (const w of o.windows) {
            if (values.length === rule.windows) break;
            if (rule.per === undefined) values.push(measureOf(w, rule.measure));
            else if (measureOf(w, rule.per) > 0) values.push(measureOf(w, rule.measure) / measureOf(w, rule.per));
          }
          if (values.length < rule.windows) return null;
          const past = (v: number) => (rule.above !== undefined ? v > rule.above : v < (rule.below as number));
          const what = rule.per ? `${rule.measure}/${rule.per}` : rule.measure;
          const bound = rule.above !== undefined ? `> ${rule.above}` : `< ${rule.below}`;
          return {
            active: values.every(past),
            value: values[0]!,
            detail: `${what} ${bound} in each of the newest ${rule.windows} window(s): ${values.map((v) => round(v)).join(", ")}`,
          };
        },
      };
    case "silence": {
      let last = Number.NaN;
      let changedAt = startedAt;
      let changed = false;
      return {
        evaluate: (o) => {
          const total =
            rule.source === undefined
              ? Object.values(o.eventsBySource).reduce((a, b) => a + b, 0)
              : (o.eventsBySource[rule.source] ?? 0);
          if (total !== last) {
            if (!Number.isNaN(last)) {
              changedAt = o.now;
              changed = true;
            }
            last = total;
          }
          const quiet = o.now - changedAt;
          // Quiet since start, but not for long enough yet: undecided, so a restart does not resolve it.
          if (!changed && quiet < rule.for) return null;
          return {
            active: quiet >= rule.for,
            value: quiet,
            detail: `no events from ${rule.source ?? "any source"} for ${Math.round(quiet / 1000)}s (bound ${rule.for / 1000}s)`,
          };
        },
      };
    }
    case "consumer-lag": {
      let aboveSince: number | null = null;
      return {
        evaluate: (o) => {
          if (!o.lag) return null;
          const values = rule.group === undefined ? Object.values(o.lag) : [o.lag[rule.group]];
          if (values.some((v) => v === undefined) || values.length === 0) return null;
          const lag = Math.max(...(values as number[]));
          if (lag > rule.above) aboveSince ??= o.now;
          else aboveSince = null;
          // Above, but not for long enough yet: undecided (a restart must not resolve what fired before it).
          if (aboveSince !== null && o.now - aboveSince < rule.for) return null;
          return {
            active: aboveSince !== null,
            value: lag,
            detail: `consumer lag of ${rule.group ?? "the daemon's groups"} is ${lag} (bound ${rule.above})`,
          };
        },
      };
    }
    case "dead-letters": {
      // (time, total) samples over the span; the oldest one inside it is the baseline.
      const samples: Array<{ t: number; v: number }> = [{ t: startedAt, v: 0 }];
      return {
        evaluate: (o) => {
          samples.push({ t: o.now, v: o.deadLetters });
          while (samples.length > 2 && samples[1]!.t <= o.now - rule.over) samples.shift();
          const increase = o.deadLetters - samples[0]!.v;
          // The counter starts at 0 with the daemon: below the bound, a span shorter than `over` says nothing.
          if (increase <= rule.above && o.now - startedAt < rule.over) return null;
          return {
            active: increase > rule.above,
            value: increase,
            detail: `${increase} dead letters within ${rule.over / 1000}s (bound ${rule.above})`,
          };
        },
      };
    }
  }
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}
