/**
 * The alert engine against a local webhook receiver: a 5xx-ratio rule fires and resolves, the payload is
 * Alertmanager's webhook format, a restart neither fires again nor drops what is owed, and a receiver that is
 * down is retried until it answers.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sumMetric } from "../../../pipeline/api/status.ts";
import { engineFor, RATIO_RULE, receiver, windows } from "./engine-harness.ts";
import { freePort, until } from "./receiver.ts";

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
    // Stopped before the receiver's answer reached it, the engine would owe the notification and send it again.
    await until(
      "the delivery recorded",
      () => sumMetric(first.metrics, "logbench_alerts_notifications_total"),
      (n) => n === 1,
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
});
