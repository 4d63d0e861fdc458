/** Shared by the alert tests: an AlertEngine on a temp state folder with captured logs, and a receiver. */
import { afterEach } from "vitest";
import { createLogger, MetricsRegistry } from "../../../connectors/context.ts";
import { AlertEngine } from "../../../pipeline/alerts/engine.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { emptyWindowSummary, type WindowSummary } from "../../../pipeline/model/window.ts";
import { type Receiver, startReceiver } from "./receiver.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(1995, 6, 1);

/** Windows newest first, one per [count, status5xx] pair given oldest first. */
export function windows(pairs: Array<[number, number]>): WindowSummary[] {
  return pairs
    .map(([count, s5], i) => ({ ...emptyWindowSummary(T0 + i * MINUTE, MINUTE, "60s", false), count, status5xx: s5 }))
    .reverse();
}

export const RATIO_RULE = {
  type: "window",
  name: "errors5xx",
  measure: "status_5xx",
  per: "count",
  above: 0.05,
  windows: 3,
  severity: "page",
  summary: "More than 5% of requests fail with 5xx",
};

export interface Running {
  engine: AlertEngine;
  metrics: MetricsRegistry;
  logs: Array<{ level: string; message: string; rule?: string }>;
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function engineFor(
  stateDir: string,
  alerts: Record<string, unknown>,
  lag: () => Promise<Record<string, number>> = async () => ({ archive: 0, aggregate: 0 }),
): Promise<Running> {
  const config = parseConfig({ stateDir, alerts });
  const controller = new AbortController();
  const metrics = new MetricsRegistry();
  const logs: Running["logs"] = [];
  const logger = createLogger({ level: "debug", write: (line) => logs.push(JSON.parse(line)) });
  const engine = new AlertEngine({
    config: config.alerts,
    stateDir: config.stateDir,
    ctx: { logger, metrics, signal: controller.signal },
    metrics,
    lag,
  });
  await engine.start();
  const stop = async () => {
    controller.abort();
    await engine.stop();
  };
  cleanups.push(stop);
  return { engine, metrics, logs, stop };
}

export async function receiver(port?: number): Promise<Receiver> {
  const r = await startReceiver(port);
  cleanups.push(() => r.close());
  return r;
}
