/**
 * The alert engine against a local webhook receiver: a 5xx-ratio rule fires and resolves, the payload is
 * Alertmanager's webhook format, a restart neither fires again nor drops what is owed, and a receiver that is
 * down is retried until it answers.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, MetricsRegistry } from "../../../connectors/context.ts";
import { AlertEngine } from "../../../pipeline/alerts/engine.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { emptyWindowSummary, type WindowSummary } from "../../../pipeline/model/window.ts";
import { freePort, type Receiver, startReceiver, until } from "./receiver.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(1995, 6, 1);

/** Windows newest first, one per [count, status5xx] pair given oldest first. */
function windows(pairs: Array<[number, number]>): WindowSummary[] {
  return pairs
    .map(([count, s5], i) => ({ ...emptyWindowSummary(T0 + i * MINUTE, MINUTE, "60s", false), count, status5xx: s5 }))
    .reverse();
}

const RATIO_RULE = {
  type: "window",
  name: "errors5xx",
  measure: "status_5xx",
  per: "count",
  above: 0.05,
  windows: 3,
  severity: "page",
  summary: "More than 5% of requests fail with 5xx",
};

interface Running {
  engine: AlertEngine;
  metrics: MetricsRegistry;
  logs: Array<{ level: string; message: string; rule?: string }>;
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engineFor(
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

async function receiver(port?: number): Promise<Receiver> {
  const r = await startReceiver(port);
  cleanups.push(() => r.close());
  return r;
}

describe("alert engine", () => {
  it("fires a ratio rule over 3 windows, resolves it, and says so in the log, the gauge and the webhook", async () => {
    const hook = await receiver();
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-"));
    const run = await engineFor(dir, {
      webhooks: [{ url: hook.url, token: "t0ken-for-the-receiver" }],
      rules: [RATIO_RULE],
    });
    expect(run.metrics.get("logbench_alerts_firing", { rule: "errors5xx" })).toBe(0);

    // Two bad windows are not three: nothing fires.
    await run.engine.onWindows(
      windows([
        [100, 1],
        [100, 9],
        [100, 7],
      ]).slice(0, 2),
    );
    // 1/100 in the oldest of the three newest: not above 5% in each.
    await run.engine.evaluate();
    run.engine.onWindows(
      windows([
        [100, 1],
        [100, 9],
        [100, 7],
      ]),
    );
    await run.engine.evaluate();
    expect(run.engine.firing()).toEqual([]);

    // 6/100, 9/100, 7/100: each above 0.05.
    run.engine.onWindows(
      windows([
        [100, 6],
        [100, 9],
        [100, 7],
      ]),
    );
    await run.engine.evaluate();
    expect(run.engine.firing().map((a) => a.rule)).toEqual(["errors5xx"]);
    expect(run.metrics.get("logbench_alerts_firing", { rule: "errors5xx" })).toBe(1);
    const [fired] = await until(
      "the fire notification",
      () => hook.received,
      (r) => r.length === 1,
    );
    expect(fired).toMatchObject({
      version: "4",
      status: "firing",
      groupKey: '{}:{alertname="errors5xx"}',
      truncatedAlerts: 0,
      groupLabels: { alertname: "errors5xx" },
      commonLabels: { alertname: "errors5xx", severity: "page" },
    });
    expect(fired!.alerts).toHaveLength(1);
    const alert = fired!.alerts[0]!;
    expect(alert.status).toBe("firing");
    expect(alert.endsAt).toBe("0001-01-01T00:00:00Z");
    expect(Number.isNaN(Date.parse(alert.startsAt))).toBe(false);
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(alert.annotations.summary).toBe(RATIO_RULE.summary);
    expect(alert.annotations.description).toContain("0.0700, 0.0900, 0.0600");
    expect(hook.auth[0]).toBe("Bearer t0ken-for-the-receiver");

    // The newest window is back under 5%: resolved.
    run.engine.onWindows(
      windows([
        [100, 6],
        [100, 9],
        [100, 7],
        [200, 2],
      ]),
    );
    await run.engine.evaluate();
    const received = await until(
      "the resolve notification",
      () => hook.received,
      (r) => r.length === 2,
    );
    expect(received[1]!.status).toBe("resolved");
    expect(received[1]!.alerts[0]!.startsAt).toBe(alert.startsAt);
    expect(Date.parse(received[1]!.alerts[0]!.endsAt)).toBeGreaterThanOrEqual(Date.parse(alert.startsAt));
    expect(received[1]!.alerts[0]!.fingerprint).toBe(alert.fingerprint);
    expect(run.metrics.get("logbench_alerts_firing", { rule: "errors5xx" })).toBe(0);
    expect(run.engine.firing()).toEqual([]);
    const transitions = run.logs.filter((l) => l.rule === "errors5xx").map((l) => `${l.level} ${l.message}`);
    expect(transitions).toEqual(["warn Alert firing.", "info Alert resolved."]);
  });

  it("does not fire again after a restart, and resolves what fired before it", async () => {
    const hook = await receiver();
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-restart-"));
    const alerts = { webhooks: [{ url: hook.url }], rules: [RATIO_RULE] };
    const bad = windows([
      [100, 6],
      [100, 9],
      [100, 7],
    ]);
    const first = await engineFor(dir, alerts);
    first.engine.onWindows(bad);
    await first.engine.evaluate();
    await until(
      "the fire notification",
      () => hook.received,
      (r) => r.length === 1,
    );
    await first.stop();

    const second = await engineFor(dir, alerts);
    // Known to be firing from the state file, before any window arrived.
    expect(second.engine.firing().map((a) => a.rule)).toEqual(["errors5xx"]);
    expect(second.metrics.get("logbench_alerts_firing", { rule: "errors5xx" })).toBe(1);
    second.engine.onWindows(bad);
    await second.engine.evaluate();
    second.engine.onWindows(
      windows([
        [100, 6],
        [100, 9],
        [100, 7],
        [100, 0],
      ]),
    );
    await second.engine.evaluate();
    // The next notification after the restart is the resolve, not a second fire.
    const received = await until(
      "the resolve notification",
      () => hook.received,
      (r) => r.length >= 2,
    );
    expect(received.map((p) => p.status)).toEqual(["firing", "resolved"]);
    expect(received[1]!.alerts[0]!.startsAt).toBe(received[0]!.alerts[0]!.startsAt);
    expect(second.logs.filter((l) => l.message === "Alert firing.")).toEqual([]);
  });

  it("retries a receiver that is down until it answers, and keeps what is owed across a restart", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-down-"));
    const alerts = { webhooks: [{ url, timeout: "2s" }], rules: [RATIO_RULE] };
    const first = await engineFor(dir, alerts);
    first.engine.onWindows(
      windows([
        [100, 6],
        [100, 9],
        [100, 7],
      ]),
    );
    await first.engine.evaluate();
    await until(
      "two failed deliveries",
      () => first.metrics.get("logbench_alerts_delivery_errors_total", { code: "UNAVAILABLE" }),
      (n) => n >= 2,
    );
    // Stopped while the receiver is still down: the notification stays owed in the state file.
    await first.stop();

    const second = await engineFor(dir, alerts);
    await until(
      "a failed delivery after the restart",
      () => second.metrics.get("logbench_alerts_delivery_errors_total", { code: "UNAVAILABLE" }),
      (n) => n >= 1,
    );
    const hook = await receiver(port);
    hook.failWith = 503;
    await until(
      "a 503 counted as retryable",
      () => second.metrics.get("logbench_alerts_delivery_errors_total", { code: "UNAVAILABLE" }),
      (n) => n >= 2,
    );
    hook.failWith = null;
    const received = await until(
      "the owed fire notification",
      () => hook.received,
      (r) => r.length === 1,
    );
    expect(received[0]!.status).toBe("firing");
    await until(
      "the notification counted",
      () => second.metrics.get("logbench_alerts_notifications_total", { status: "firing" }),
      (n) => n === 1,
    );
    expect(second.logs.filter((l) => l.message === "Alert firing.")).toEqual([]);
    expect(hook.received).toHaveLength(1);
  });

  it("fires silence, dead-letter and consumer-lag rules from the daemon's counters", async () => {
    const hook = await receiver();
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-metrics-"));
    const run = await engineFor(dir, {
      interval: "50ms",
      webhooks: [{ url: hook.url }],
      rules: [
        { type: "silence", name: "web_quiet", source: "web", for: "400ms" },
        { type: "dead-letters", name: "bad_lines", above: 3, over: "1m" },
        { type: "consumer-lag", name: "behind", above: 100 },
      ],
    });
    run.metrics.inc("logbench_ingest_events_total", { source: "web" }, 10);
    run.metrics.inc("logbench_ingest_dead_letters_total", { source: "web" }, 3);
    await run.engine.evaluate();
    expect(run.engine.firing()).toEqual([]);
    run.metrics.inc("logbench_ingest_dead_letters_total", { source: "web" }, 2);
    const fired = await until(
      "bad_lines and web_quiet firing",
      () =>
        run.engine
          .firing()
          .map((a) => a.rule)
          .sort(),
      (r) => r.length === 2,
    );
    expect(fired).toEqual(["bad_lines", "web_quiet"]);
    expect(run.engine.firing().find((a) => a.rule === "bad_lines")!.value).toBe(5);
    // Events again: the source is no longer quiet.
    run.metrics.inc("logbench_ingest_events_total", { source: "web" }, 1);
    await until(
      "web_quiet resolved",
      () => run.engine.firing().map((a) => a.rule),
      (r) => !r.includes("web_quiet"),
    );
    const statuses = await until(
      "three notifications",
      () => hook.received.map((p) => `${p.groupLabels.alertname} ${p.status}`),
      (r) => r.length === 3,
    );
    expect(statuses.sort()).toEqual(["bad_lines firing", "web_quiet firing", "web_quiet resolved"]);
  });

  it("fires a consumer-lag rule only after the lag stayed above the bound for `for`, and not on unknown lag", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-lag-"));
    let lag: Record<string, number> | null = { archive: 50, aggregate: 5000 };
    const run = await engineFor(
      dir,
      {
        interval: "1h",
        rules: [{ type: "consumer-lag", name: "behind", group: "aggregate", above: 1000, for: "300ms" }],
      },
      async () => {
        if (!lag) throw new Error("bus unreachable");
        return lag;
      },
    );
    const started = Date.now();
    await run.engine.evaluate();
    expect(run.engine.firing()).toEqual([]);
    const fired = await until(
      "the lag rule firing",
      () => run.engine.firing(),
      (f) => {
        void run.engine.evaluate();
        return f.length === 1;
      },
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(fired[0]).toMatchObject({ rule: "behind", value: 5000 });
    // The bus cannot say: no decision, the rule keeps firing.
    lag = null;
    await run.engine.evaluate();
    expect(run.engine.firing().map((a) => a.rule)).toEqual(["behind"]);
    lag = { archive: 50, aggregate: 10 };
    await run.engine.evaluate();
    expect(run.engine.firing()).toEqual([]);
  });

  it("keeps a silence alert firing across a restart until events come again", async () => {
    const hook = await receiver();
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-quiet-"));
    const alerts = {
      interval: "50ms",
      webhooks: [{ url: hook.url }],
      rules: [{ type: "silence", name: "quiet", for: "300ms" }],
    };
    const first = await engineFor(dir, alerts);
    await until(
      "quiet firing",
      () => first.engine.firing(),
      (f) => f.length === 1,
    );
    await until(
      "the fire notification",
      () => hook.received,
      (r) => r.length === 1,
    );
    await first.stop();
    const second = await engineFor(dir, alerts);
    // Evaluations within `for` of the restart decide nothing: no resolve, no second fire.
    await second.engine.evaluate();
    await second.engine.evaluate();
    expect(second.engine.firing().map((a) => a.rule)).toEqual(["quiet"]);
    second.metrics.inc("logbench_ingest_events_total", { source: "web" }, 3);
    await second.engine.evaluate();
    await second.engine.evaluate();
    await until(
      "quiet resolved",
      () => second.engine.firing(),
      (f) => f.length === 0,
    );
    const statuses = await until(
      "the resolve",
      () => hook.received.map((p) => p.status),
      (r) => r.length === 2,
    );
    expect(statuses).toEqual(["firing", "resolved"]);
  });

  it("reads a webhook's token from its tokenFile, relative to the config's folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-token-"));
    writeFileSync(join(dir, "hook.token"), "s3cret-from-a-file\n");
    const config = parseConfig(
      { alerts: { webhooks: [{ url: "http://127.0.0.1:1/x", tokenFile: "hook.token" }] } },
      { baseDir: dir },
    );
    expect(config.alerts.webhooks[0]!.token).toBe("s3cret-from-a-file");
    expect(() =>
      parseConfig({ alerts: { webhooks: [{ url: "http://127.0.0.1:1/x", tokenFile: "missing" }] } }, { baseDir: dir }),
    ).toThrow(/alerts\.webhooks\.0\.tokenFile: cannot read/);
  });

  it("rejects a rule with both bounds, an unknown measure and duplicate names", () => {
    expect(() => parseConfig({ alerts: { rules: [{ ...RATIO_RULE, below: 1 }] } })).toThrow(
      /exactly one of above or below/,
    );
    expect(() => parseConfig({ alerts: { rules: [{ ...RATIO_RULE, measure: "errors" }] } })).toThrow(
      /alerts\.rules\.0\.measure/,
    );
    expect(() => parseConfig({ alerts: { rules: [RATIO_RULE, RATIO_RULE] } })).toThrow(/rule names must be unique/);
  });
});
