/**
 * Scale-out (issue 11 §3): two and three daemon processes in one consumer group on the mock cluster, a topic of
 * 6 partitions, each daemon with its own state folder and API port, one shared local archive folder (as on an
 * NFS mount) and one InfluxDB database. Generated CLF lines (with some garbage) are replayed onto the topic; one
 * daemon is SIGKILLed once the archive holds something and before it holds everything. The survivors take its
 * partitions; the archive must then hold every parseable line exactly once, the dead letters every other line,
 * and the per-minute series totals must be exact — all checked against what was sent (expected.ts's own regex).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { packageRoot } from "../../pipeline/config/load.ts";
import { complete, counts, expectExactOutput } from "./check.ts";
import { expectedFromLines } from "./expected.ts";
import { type DaemonProcess, startDaemon, stopDaemon, waitFor, writeConfig } from "./harness.ts";

const CLI = resolve(packageRoot, "bin/logbench.js");

async function kafka(command: string): Promise<void> {
  const res = await fetch(inject("kafkaControlUrl"), { method: "POST", body: command });
  expect(res.status, `mock cluster command "${command}": ${await res.text()}`).toBe(200);
}

/** `count` generated CLF lines with a garbage line after every 400th: the input, and the file holding it. */
function input(dir: string, count: number): { file: string; lines: string[] } {
  const generated = execFileSync(
    process.execPath,
    [CLI, "generate", "--format", "clf", "--count", String(count), "--seed", "7", "--quiet"],
    { cwd: packageRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  )
    .split("\n")
    .filter((l) => l !== "");
  const lines = generated.flatMap((l, i) => (i % 400 === 399 ? [l, `garbage line ${i} [not a log]`] : [l]));
  const file = join(dir, "input.log");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, lines };
}

/** Parts in the shared archive (the data files, not the bookkeeping under _logbench). */
function archivedParts(archive: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "_logbench") walk(join(d, e.name));
      else if (e.isFile() && e.name.endsWith(".parquet")) n++;
    }
  };
  try {
    walk(archive);
  } catch {
    return 0;
  }
  return n;
}

async function scaleOut(daemons: number, lines: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `logbench-scale${daemons}-`));
  const name = `scale${daemons}${Date.now().toString(36)}`;
  const topic = `weblogs-${name}`;
  await kafka(`topic ${topic} 6`);
  await kafka(`topic ${topic}.dlq 6`);
  const archive = join(dir, "archive");
  const configs = Array.from({ length: daemons }, (_, i) => {
    const own = join(dir, `daemon-${i}`);
    mkdirSync(own, { recursive: true });
    return writeConfig(own, {
      topic,
      deadLetters: { topic: `${topic}.dlq` },
      bus: {
        type: "kafka",
        brokers: inject("kafkaBootstrap").split(","),
        clientId: `${name}-${i}`,
        sessionTimeout: "6s",
      },
      archive: { type: "local", dir: archive },
      series: { type: "influxdb-v1", url: inject("influxV1Url"), database: `e2e_${name}` },
      sources: [],
      archiver: { group: `archive-${name}`, roll: { records: 400, idle: "1s", interval: "1m", size: "64MB" } },
      aggregator: { group: `aggregate-${name}`, flushInterval: "300ms", lateness: "5m" },
    });
  });
  const { file, lines: sent } = input(dir, lines);
  const expected = expectedFromLines(sent);
  const running: DaemonProcess[] = configs.map((c) => startDaemon(c, "node", undefined, ["--log-level", "debug"]));
  try {
    for (const d of running) {
      await waitFor(
        "the daemon's API",
        async () => d.stderr(),
        (out) => out.includes("API listening."),
        { daemon: d },
      );
    }
    execFileSync(process.execPath, [CLI, "replay", file, "--format", "clf", "--config", configs[0]!, "--quiet"], {
      cwd: packageRoot,
    });
    const victim = running[daemons - 1]!;
    await waitFor(
      "a first archived part",
      async () => archivedParts(archive),
      (n) => n > 0,
      {
        daemon: victim,
        intervalMs: 20,
      },
    );
    victim.child.kill("SIGKILL");
    await victim.exited;
    const atKill = await counts(configs[0]!);
    expect(atKill.events, "the kill must land before everything was archived").toBeLessThan(expected.good.length);
    const survivors = running.slice(0, daemons - 1);
    await waitFor("every line archived and counted by the survivors", () => counts(configs[0]!), complete(expected), {
      daemon: survivors[0]!,
      // Normally 20-40 s: each rebalance on the mock waits out its delay (session timeout - 1 s), and refused
      // SyncGroups and dead members cost a few more. The deadline is for a loaded machine, not the normal case.
      timeoutMs: 240_000,
    });
    for (const d of survivors) expect(await stopDaemon(d), d.stderr().slice(-2000)).toBe(0);
    await expectExactOutput(configs[0]!, expected);
  } finally {
    await Promise.all(running.map((d) => stopDaemon(d, "SIGKILL")));
    // Each daemon's whole log stays beside its state folder, for a run that has to be explained afterwards.
    for (const [i, d] of running.entries()) writeFileSync(join(dir, `daemon-${i}.log`), d.stderr());
    console.log(`scale-out (${daemons} daemons): logs in ${dir}`);
  }
}

describe("scale-out: daemons sharing one consumer group, one killed mid-run", () => {
  it("two daemons, one SIGKILLed: the archive holds every event once, the series totals are exact", async () => {
    await scaleOut(2, 12_000);
  }, 420_000);

  it("three daemons, one SIGKILLed: the archive holds every event once, the series totals are exact", async () => {
    await scaleOut(3, 12_000);
  }, 420_000);
});
