/**
 * `npm run soak -- [--minutes N] [--rate R] [--kill-every S] [--profile DIR]` (not part of CI; issue 11 §7).
 *
 * A private librdkafka mock cluster (3 brokers, a 6-partition topic), one daemon on it (local archive folder,
 * DuckDB series), and `logbench replay --speed R/100` of a generated CLF file (100 lines per second of event
 * time): R lines a second, steadily, for N minutes. Every S seconds the daemon is SIGKILLed and started again.
 * At the end the replay has published everything, the daemon catches up and is stopped, and the archive and the series are compared with the
 * generated lines (test/e2e/expected.ts: its own regex, not logbench's parser): lost and duplicated lines and
 * per-minute totals, plus the daemon's RSS over time. Exit code 1 when anything was lost or doubled.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { procCpuSeconds } from "../bench/daemon.ts";
import { DAEMON_MALLOC_ENV, DAEMON_V8_FLAGS } from "../pipeline/cli/daemon-v8-flags.ts";
import { packageRoot } from "../pipeline/config/load.ts";
import { expectedFromLines, multisetDiff } from "../test/e2e/expected.ts";
import { type DaemonProcess, query, startDaemon, writeConfig } from "../test/e2e/harness.ts";
import { startKafkaMock } from "../test/servers/kafka/mock-cluster.ts";

const CLI = resolve(packageRoot, "bin/logbench.js");

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name}: expected a positive number`);
  return value;
}

function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The daemon, as the e2e harness starts it, but with `--cpu-prof` into `profileDir` when given (Node refuses
 * `--cpu-prof` in NODE_OPTIONS). Only a clean stop writes a profile: the last daemon, stopped with SIGTERM, or
 * every one when `--kill-every` is longer than the run.
 */
function daemonProcess(config: string, profileDir: string | undefined): DaemonProcess {
  if (profileDir === undefined) return startDaemon(config);
  const child = spawn(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, ...DAEMON_V8_FLAGS, CLI, "daemon", "--config", config],
    { cwd: packageRoot, env: { ...process.env, ...DAEMON_MALLOC_ENV }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { child, stderr: () => err, exited };
}

/** The daemon's consumer lag per group and the aggregate's counters, from its /metrics ("-" before it listens). */
async function progress(daemon: DaemonProcess): Promise<string> {
  const apiUrl = /"message":"API listening\.","url":"([^"]+)"/.exec(daemon.stderr())?.[1];
  if (!apiUrl) return "metrics -";
  const text = await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.text())
    .catch(() => "");
  const sum = (name: string, label = ""): number => {
    let n = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, "gm")))
      if ((m[1] ?? "").includes(label)) n += Number(m[2]);
    return n;
  };
  return [
    `CPU ${daemon.child.pid === undefined ? null : procCpuSeconds(daemon.child.pid)} s since its start`,
    `lag archive ${sum("logbench_consumer_lag", "archive")}`,
    `lag aggregate ${sum("logbench_consumer_lag", "aggregate")}`,
    `aggregate received ${sum("logbench_aggregate_received_total")}`,
    `points written ${sum("logbench_aggregate_sent_total")}`,
  ].join(", ");
}

async function main(args: string[]): Promise<number> {
  const minutes = option(args, "minutes", 30);
  const rate = option(args, "rate", 100);
  const killEvery = option(args, "kill-every", 60);
  const profileAt = args.indexOf("--profile");
  const profileDir = profileAt >= 0 ? resolve(args[profileAt + 1] ?? ".") : undefined;
  const dir = mkdtempSync(join(tmpdir(), "logbench-soak-"));
  const topic = "weblogs";
  const mock = await startKafkaMock({
    brokers: 3,
    topics: [
      { name: topic, partitions: 6 },
      { name: `${topic}.dlq`, partitions: 6 },
    ],
  });
  const started = Date.now();
  let daemon: DaemonProcess | null = null;
  let replay: ChildProcess | null = null;
  try {
    // The generator puts 100 lines in each second of event time; replay --speed rate/100 paces them at `rate`/s.
    const count = Math.round(minutes * 60 * rate);
    const text = execFileSync(
      process.execPath,
      [CLI, "generate", "--format", "clf", "--count", String(count), "--seed", "11", "--quiet"],
      { cwd: packageRoot, encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 },
    );
    const lines = text.split("\n").filter((l) => l !== "");
    const input = join(dir, "input.log");
    writeFileSync(input, text);
    const expected = expectedFromLines(lines);
    const config = writeConfig(dir, {
      topic,
      deadLetters: { topic: `${topic}.dlq` },
      bus: { type: "kafka", brokers: mock.bootstrap, clientId: "soak", sessionTimeout: "6s" },
      sources: [],
      archiver: { roll: { records: 5_000, idle: "2s", interval: "1m", size: "64MB" } },
      aggregator: { flushInterval: "1s", lateness: "5m" },
    });
    daemon = daemonProcess(config, profileDir);
    replay = spawn(
      process.execPath,
      [CLI, "replay", input, "--format", "clf", "--speed", String(rate / 100), "--config", config, "--quiet"],
      {
        cwd: packageRoot,
        stdio: "ignore",
      },
    );
    const replayDone = new Promise<number | null>((done) => replay!.on("exit", (code) => done(code)));
    const samples: Array<{ minute: number; rssMb: number | null; load: string; kills: number; progress: string }> = [];
    let kills = 0;
    let nextKill = Date.now() + killEvery * 1000;
    let nextSample = Date.now();
    let replayExit: number | null | undefined;
    void replayDone.then((code) => (replayExit = code));
    while (replayExit === undefined) {
      if (Date.now() >= nextSample) {
        const sample = {
          minute: Math.round((Date.now() - started) / 6_000) / 10,
          rssMb: rssMb(daemon.child.pid),
          load: loadavg()
            .map((l) => l.toFixed(2))
            .join(" "),
          kills,
        };
        samples.push({ ...sample, progress: await progress(daemon) });
        // Also as it goes, so an interrupted run still leaves its record (with the daemon's lag and progress).
        process.stderr.write(
          `soak: minute ${sample.minute}, RSS ${sample.rssMb} MB, load ${sample.load}, kills ${kills}, ${samples.at(-1)!.progress}\n`,
        );
        nextSample += 30_000;
      }
      if (Date.now() >= nextKill) {
        daemon.child.kill("SIGKILL");
        await daemon.exited;
        kills++;
        daemon = daemonProcess(config, profileDir);
        nextKill += killEvery * 1000;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (replayExit !== 0) throw new Error(`logbench replay exited ${replayExit}`);
    const total = async () => Number((await query(config, "select count(*) as n from events"))[0]!.n);
    const windowed = async () =>
      Number((await query(config, "select coalesce(sum(count), 0) as n from requests"))[0]!.n);
    const behind: string[] = [];
    for (const [what, probe] of [
      ["archive", total],
      ["series", windowed],
    ] as const) {
      await until(`the ${what} caught up`, async () => (await probe()) >= expected.good.length, 10 * 60_000).catch(() =>
        behind.push(what),
      );
    }
    // Offsets the bus deleted before a group read them (retention outran a group that fell behind): counted loss.
    const apiUrl = /"message":"API listening\.","url":"([^"]+)"/.exec(daemon.stderr())?.[1];
    const lostByGroup = new Map<string, number>();
    if (apiUrl) {
      const text = await (await fetch(`${apiUrl}/metrics`)).text().catch(() => "");
      for (const m of text.matchAll(/^logbench_bus_lost_total\{group="([^"]+)"[^}]*\} (\d+)$/gm))
        lostByGroup.set(m[1]!, (lostByGroup.get(m[1]!) ?? 0) + Number(m[2]));
    }
    daemon.child.kill("SIGTERM");
    await daemon.exited;
    daemon = null;
    const archived = (await query(config, "select raw from events")).map((r) => String(r.raw));
    const diff = multisetDiff(archived, expected.good);
    const minutesGot = await query(config, "select time, sum(count) as n from requests group by time");
    const got = new Map(minutesGot.map((r) => [Number(r.time), Number(r.n)]));
    let wrongMinutes = 0;
    for (const [minute, n] of expected.perMinute) if (got.get(minute) !== n) wrongMinutes++;
    for (const minute of got.keys()) if (!expected.perMinute.has(minute)) wrongMinutes++;

    const out = process.stdout;
    out.write(`\nlogbench soak: ${minutes} min at ${rate} lines/s, SIGKILL + restart every ${killEvery} s\n`);
    out.write(
      `machine: ${cpus().length} cores, load 1/5/15 now ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; took ${Math.round((Date.now() - started) / 1000)} s\n\n`,
    );
    out.write("| minute | daemon RSS (MB) | load 1/5/15 | kills so far | daemon |\n|---:|---:|---|---:|---|\n");
    for (const s of samples)
      out.write(`| ${s.minute} | ${s.rssMb ?? "-"} | ${s.load} | ${s.kills} | ${s.progress} |\n`);
    out.write("\n| lines sent | parseable | archived | lost | duplicated | minutes wrong | series total | kills |\n");
    out.write("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    out.write(
      `| ${lines.length} | ${expected.good.length} | ${archived.length} | ${diff.missing.length} | ${diff.extra.length} | ${wrongMinutes} of ${expected.perMinute.size} | ${await windowed().catch(() => NaN)} | ${kills} |\n`,
    );
    if (behind.length) out.write(`\nnot caught up within 10 min after the replay: ${behind.join(", ")}\n`);
    for (const [group, n] of lostByGroup)
      out.write(`bus offsets lost to retention (counted, reported) in group ${group}: ${n}\n`);
    return diff.missing.length === 0 && diff.extra.length === 0 && wrongMinutes === 0 ? 0 : 1;
  } finally {
    replay?.kill("SIGKILL");
    daemon?.child.kill("SIGKILL");
    await mock.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
