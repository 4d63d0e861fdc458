/**
 * `logbench deno-flags` on the distributed e2e config (Kafka mock, WebHDFS test server, influxd, plus an alert
 * webhook): the daemon runs under Deno with exactly the printed flags, and without one of them it fails and
 * says which permission is missing.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { packageRoot } from "../../pipeline/config/load.ts";
import { startReceiver } from "../pipeline/alerts/receiver.ts";
import { runToCompletion } from "./check.ts";
import { distributedConfig } from "./distributed-config.ts";
import { expectedFromFiles } from "./expected.ts";
import { SAMPLES, spool, startDaemon, stopDaemon, waitFor } from "./harness.ts";

const FILES = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
const expected = expectedFromFiles(FILES);
const receiver = await startReceiver();
afterAll(() => receiver.close());
const dirs: Record<"flags" | "run" | "miss", string> = { flags: "", run: "", miss: "" };
const configs = { ...dirs };
// Topics are created up front: the mock cluster's control endpoint closes idle keep-alive sockets, and a
// request on one that was just closed fails.
beforeAll(async () => {
  for (const key of Object.keys(dirs) as Array<keyof typeof dirs>) {
    dirs[key] = mkdtempSync(join(tmpdir(), `logbench-flags-${key}-`));
    configs[key] = await configWithAlerts(dirs[key], `flags${key}${Date.now().toString(36)}`);
  }
});

function denoFlags(config: string): string[] {
  const out = execFileSync(process.execPath, [join(packageRoot, "bin/logbench.js"), "deno-flags", "--config", config], {
    encoding: "utf8",
  });
  return out.trim().split(" ");
}

/** The distributed config plus a dead-letter rule whose webhook is the local receiver. */
async function configWithAlerts(dir: string, name: string): Promise<string> {
  const file = await distributedConfig(dir, name);
  const config = parse(readFileSync(file, "utf8"));
  config.alerts = {
    interval: "200ms",
    webhooks: [{ url: receiver.url }],
    rules: [{ type: "dead-letters", name: "bad_lines", above: 0, over: "10m" }],
  };
  writeFileSync(file, stringify(config));
  return file;
}

const flag = (flags: string[], name: string) =>
  flags
    .find((f) => f.startsWith(`--allow-${name}=`))
    ?.slice(`--allow-${name}=`.length)
    .split(",") ?? [];

describe("deno-flags on the distributed config", () => {
  it("names the brokers, the NameNode's host, InfluxDB, the webhook, and the state folder", async () => {
    const dir = dirs.flags;
    const flags = denoFlags(configs.flags);
    expect(flags.some((f) => /^-A$|^--allow-all$|^--allow-(net|read|write|run)$/.test(f))).toBe(false);
    const net = flag(flags, "net");
    for (const broker of inject("kafkaBootstrap").split(",")) expect(net).toContain(broker);
    expect(net).toContain(new URL(inject("influxV1Url")).host);
    expect(net).toContain(new URL(inject("webhdfsUrl")).host);
    // DataNodes are not in the config: the NameNode's host, any port.
    expect(net).toContain(new URL(inject("webhdfsUrl")).hostname);
    expect(net).toContain(`127.0.0.1:${receiver.port}`);
    expect(flag(flags, "write")).toEqual([join(dir, "state"), join(dir, "spool")]);
    expect(flag(flags, "read")).toContain(packageRoot);
  });

  it("runs the daemon under Deno with exactly those flags: every line through, the alert delivered", async () => {
    const [dir, config] = [dirs.run, configs.run];
    const before = receiver.received.length;
    const daemon = await runToCompletion(dir, config, FILES, expected, {
      runner: "deno",
      denoFlags: denoFlags(config),
      timeoutMs: 150_000,
    });
    expect(daemon.stderr()).toContain("Stopped cleanly.");
    expect(daemon.stderr()).not.toMatch(/NotCapable|Requires \w+ access/);
    const fired = receiver.received.slice(before).filter((p) => p.groupLabels.alertname === "bad_lines");
    expect(fired.map((p) => p.status)).toEqual(["firing"]);
    expect(fired[0]!.alerts[0]!.annotations.description).toMatch(/^\d+ dead letters within 600s \(bound 0\)$/);
  });

  it("fails clearly when the flags miss the state folder", async () => {
    const [dir, config] = [dirs.miss, configs.miss];
    const state = join(dir, "state");
    const flags = denoFlags(config).map((f) =>
      f.startsWith("--allow-write=")
        ? `--allow-write=${flag([f], "write")
            .filter((p) => p !== state)
            .join(",")}`
        : f,
    );
    spool(join(dir, "spool"), FILES);
    const daemon = startDaemon(config, "deno", flags);
    try {
      const code = await waitFor(
        "the daemon to exit",
        async () => daemon.child.exitCode,
        (c) => c !== null,
        {
          daemon,
          timeoutMs: 60_000,
        },
      );
      expect(code).not.toBe(0);
      expect(daemon.stderr()).toContain(`Requires write access to "${state}`);
      expect(daemon.stderr()).toContain("logbench deno-flags");
    } finally {
      await stopDaemon(daemon, "SIGKILL");
    }
  });
});
