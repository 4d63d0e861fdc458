/**
 * Metric rules (silence, dead letters, consumer lag) against the daemon's counters, their behaviour across a
 * restart, and the alerts config's validation.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sumMetric } from "../../../pipeline/api/status.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { engineFor, RATIO_RULE, receiver } from "./engine-harness.ts";
import { until } from "./receiver.ts";

describe("alert rules over metrics", () => {
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
    // Received is not yet recorded: a stop before the receiver's answer reached the engine leaves the notification
    // owed, and the next start sends it again (at least once). Stop once the engine has recorded the delivery.
    await until(
      "the delivery recorded",
      () => sumMetric(first.metrics, "logbench_alerts_notifications_total"),
      (n) => n === 1,
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
