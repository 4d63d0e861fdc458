/**
 * Alerts wired into the real daemon (in process, embedded config): a window rule fires on the aggregate
 * stage's flushes, the receiver gets it, `/api/alerts` (what the live page shows) lists it, and `/metrics`
 * carries `logbench_alerts_firing{rule}`.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../connectors/context.ts";
import { packageRoot, parseConfig } from "../../../pipeline/config/load.ts";
import { startDaemon } from "../../../pipeline/daemon.ts";
import { startReceiver, until } from "./receiver.ts";

const SAMPLE = join(packageRoot, "data/samples/nasa-jul95-first1000.log");
// Events per minute of the sample, counted here. The newest window once the replay is through is the file's last
// minute: the rule's bound sits just below its count, and no minute reaches the "never" rule's bound.
const perMinute = new Map<string, number>();
for (const line of readFileSync(SAMPLE, "utf8").split("\n")) {
  const m = /\[(\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}):\d{2} /.exec(line);
  if (m) perMinute.set(m[1]!, (perMinute.get(m[1]!) ?? 0) + 1);
}
const busiest = Math.max(...perMinute.values());
const last = [...perMinute.values()].at(-1)!;

const receiver = await startReceiver();
afterAll(() => receiver.close());

describe("alerts in the daemon", () => {
  it("fires a window rule from the aggregate flushes, and shows it on /api/alerts and /metrics", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-alerts-daemon-"));
    const config = parseConfig({
      stateDir: join(dir, "state"),
      bus: { type: "local", dir: join(dir, "bus"), partitions: 1 },
      archive: { type: "local", dir: join(dir, "archive") },
      series: { type: "duckdb", file: join(dir, "series.duckdb") },
      sources: [{ type: "replay", name: "nasa", files: [SAMPLE], format: "clf" }],
      aggregator: { flushInterval: "200ms" },
      api: { port: 0 },
      alerts: {
        webhooks: [{ url: receiver.url }],
        rules: [
          { type: "window", name: "busy_minute", measure: "count", above: last - 1, windows: 1 },
          { type: "window", name: "never", measure: "count", above: busiest, windows: 1 },
        ],
      },
    });
    const controller = new AbortController();
    const daemon = await startDaemon(config, { logger: silentLogger, signal: controller.signal });
    try {
      expect(((await (await fetch(`${daemon.apiUrl}/api/alerts`)).json()) as { alerts: unknown[] }).alerts).toEqual([]);
      await daemon.replaysDone;
      const alerts = async () =>
        (
          (await (await fetch(`${daemon.apiUrl}/api/alerts`)).json()) as {
            alerts: Array<{ rule: string; value: number }>;
          }
        ).alerts;
      let body: Array<{ rule: string; value: number }> = [];
      const deadline = Date.now() + 60_000;
      while (!(body.length === 1 && body[0]!.value === last) && Date.now() < deadline) {
        body = await alerts();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(body.map((a) => [a.rule, a.value])).toEqual([["busy_minute", last]]);
      const received = await until(
        "the fire notification",
        () => receiver.received,
        (r) => r.at(-1)?.status === "firing",
        30_000,
      );
      expect(new Set(received.map((p) => p.groupLabels.alertname))).toEqual(new Set(["busy_minute"]));
      const metrics = await (await fetch(`${daemon.apiUrl}/metrics`)).text();
      expect(metrics).toMatch(/^logbench_alerts_firing\{rule="busy_minute"\} 1$/m);
      expect(metrics).toMatch(/^logbench_alerts_firing\{rule="never"\} 0$/m);
    } finally {
      controller.abort();
      await daemon.done;
    }
  });
});
