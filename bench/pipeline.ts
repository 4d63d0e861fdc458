/**
 * `npm run bench -- pipeline [--paths local,kafka] [--lines N] [--runs N] [--stages archive,aggregate]`: the whole pipeline as a user runs it. For each
 * path, a fresh daemon (`node bin/logbench.js daemon --config …`) runs while `logbench replay` publishes the
 * 1M-line CLF input (bench/parse-input.ts) onto its bus; the clock stops when both consumer groups have no lag
 * left on /api/status (archive files committed, aggregate windows written). GoAccess's whole report on the same
 * file runs in the same process and load, so the ratio is what to read on a shared machine. Peak RSS is the
 * daemon's VmHWM from /proc. CPU seconds (user + system, from /proc; GoAccess's from GNU time) are the daemon's from
 * the replay's start until caught up, and the replay's: they carry the other processes' load much less than wall
 * time, so the CPU ratio to GoAccess is the steadier figure on a busy machine. Paths: "local" (embedded default: file bus with its default partitions, local archive, DuckDB series) and
 * "kafka" (librdkafka mock cluster, 3 partitions, from test/servers/kafka/; local archive and DuckDB series).
 * `--stages archive` or `--stages aggregate` starts one consumer group alone (the clock stops when it has caught up),
 * to see what each costs by itself. `--runs N` repeats the whole table N times, GoAccess first in each round, and ends with each path's spread over
 * the rounds (each round's ratio is to its own GoAccess run): one run is one sample on a noisy machine.
 * `--profile DIR` has the daemon and the replay write V8 CPU profiles there. The daemon runs with the heap limits
 * it ships with (pipeline/cli/daemon-v8-flags.ts); BENCH_DAEMON_NODE_FLAGS replaces them (an empty string: Node's
 * defaults, to see how much of the RSS is V8 heap headroom), and BENCH_DAEMON_STDOUT=FILE keeps what the daemon
 * prints: `BENCH_DAEMON_NODE_FLAGS="--max-old-space-size=128 --max-semi-space-size=4 --trace-gc-nvp"` logs each GC.
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { localBusSchema } from "../connectors/local/config.ts";
import { startKafkaMock } from "../test/servers/kafka/mock-cluster.ts";
import { bin, daemonFlags, procCpuSeconds, procStatusMb, root, startBenchDaemon, writeBenchConfig } from "./daemon.ts";
import { benchInputs } from "./parse-input.ts";

const DEADLINE_MS = 20 * 60_000;
/** GNU time, for GoAccess's CPU seconds (package "time"; without it that cell is "–"). */
const TIME = "/usr/bin/time";

interface PathRun {
  path: string;
  events: number;
  replaySeconds: number;
  caughtUpSeconds: number;
  /** When each group first had no lag left after the replay ended (the aggregate: and had read every event). */
  groupSeconds: { archive: number | null; aggregate: number | null };
  peakRssMb: number | null;
  /** CPU seconds (user + system) the daemon used from the replay's start until caught up, and the replay's own. */
  daemonCpu: number | null;
  replayCpu: number | null;
  note: string;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

function exec(
  args: string[],
  nodeFlags: string[] = [],
): Promise<{ code: number | null; stderr: string; seconds: number; cpu: number | null }> {
  const started = performance.now();
  return new Promise((ok) => {
    const child = spawn(process.execPath, [...nodeFlags, ...args], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let cpu: number | null = null;
    child.stderr.on("data", (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    // The CPU it used, read just before it is reaped (the "exit" event comes before "close").
    const poll = setInterval(() => {
      cpu = procCpuSeconds(child.pid!) ?? cpu;
    }, 100);
    child.on("close", (code) => {
      clearInterval(poll);
      ok({ code, stderr, seconds: (performance.now() - started) / 1000, cpu });
    });
  });
}

interface Status {
  consumerLag: Record<string, number> | null;
  eventsPerSec?: number;
}

async function status(port: number): Promise<Status | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/status`);
    return res.ok ? ((await res.json()) as Status) : null;
  } catch {
    return null;
  }
}

/** Which groups have no lag left (the aggregate group: and has read every event). */
async function caughtUp(
  port: number,
  lag: Record<string, number>,
  events: number,
): Promise<{ archive: boolean; aggregate: boolean }> {
  const archive = lag.archive === 0;
  if (lag.aggregate !== 0) return { archive, aggregate: false };
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let received = 0;
  for (const m of text.matchAll(/^logbench_aggregate_received_total\{[^}]*\} (\d+)/gm)) received += Number(m[1]);
  return { archive, aggregate: received >= events };
}

/** The consumer groups a run starts (`--stages`): one alone shows what it costs by itself. */
interface Stages {
  archive: boolean;
  aggregate: boolean;
}

async function runPath(
  name: string,
  file: string,
  events: number,
  busFor: (dir: string) => Record<string, unknown>,
  stages: Stages,
  profileDir?: string,
): Promise<PathRun> {
  const dir = await mkdtemp(join(root, "bench/out/pipeline-"));
  const bus = busFor(dir);
  const port = await freePort();
  const config = await writeBenchConfig(dir, port, {
    bus,
    archiver: {
      enabled: stages.archive,
      roll: { size: "64MB", records: 500_000, interval: "5m", idle: "2s" },
    },
    aggregator: { enabled: stages.aggregate, window: "60s", lateness: "5m", flushInterval: "1s" },
  });
  // --profile DIR: the daemon and the replay write a V8 CPU profile there when it exits (open it in Chrome DevTools).
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`] : [];
  const daemon = startBenchDaemon(config, prof);
  try {
    const ready = Date.now() + 60_000;
    while ((await status(port)) === null) {
      if (Date.now() > ready || daemon.gone()) throw new Error(`daemon did not start:\n${daemon.stderr()}`);
      await new Promise((ok) => setTimeout(ok, 200));
    }
    const started = performance.now();
    const cpuAtStart = procCpuSeconds(daemon.child.pid!);
    const replay = await exec([bin, "replay", file, "--format", "clf", "--config", config, "--quiet"], prof);
    if (replay.code !== 0) throw new Error(`replay failed (${replay.code}): ${replay.stderr}`);
    let note = "";
    let peak = procStatusMb(daemon.child.pid!, "VmHWM");
    const groupSeconds: PathRun["groupSeconds"] = { archive: null, aggregate: null };
    const elapsed = () => (performance.now() - started) / 1000;
    for (;;) {
      const s = await status(port);
      peak = Math.max(peak ?? 0, procStatusMb(daemon.child.pid!, "VmHWM") ?? 0) || peak;
      if (s?.consumerLag) {
        const done = await caughtUp(port, s.consumerLag, events);
        if (done.archive) groupSeconds.archive ??= elapsed();
        if (done.aggregate) groupSeconds.aggregate ??= elapsed();
        if ((done.archive || !stages.archive) && (done.aggregate || !stages.aggregate)) break;
      }
      const gone = daemon.gone();
      if (gone) throw new Error(`the daemon exited (${gone}):\n${daemon.stderr()}`);
      if (performance.now() - started > DEADLINE_MS) {
        note = `not caught up after ${DEADLINE_MS / 60_000} min: lag ${JSON.stringify(s?.consumerLag)}`;
        break;
      }
      await new Promise((ok) => setTimeout(ok, 250));
    }
    const caughtUpSeconds = (performance.now() - started) / 1000;
    const cpuNow = procCpuSeconds(daemon.child.pid!);
    return {
      daemonCpu: cpuNow === null || cpuAtStart === null ? null : cpuNow - cpuAtStart,
      replayCpu: replay.cpu,
      path: name,
      events,
      replaySeconds: replay.seconds,
      caughtUpSeconds,
      groupSeconds,
      peakRssMb: procStatusMb(daemon.child.pid!, "VmHWM") ?? peak,
      note,
    };
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** GoAccess's whole report on `file`: wall seconds, CPU seconds (with GNU time installed) and its request count. */
function goaccess(file: string): { seconds: number; cpu: number | null; events: number } | null {
  if (spawnSync("goaccess", ["--version"]).status !== 0) return null;
  const report = join(root, "bench/out/goaccess-pipeline.json");
  const argv = ["goaccess", file, "--log-format=COMMON", "--no-ip-validation", "--no-progress", "-o", report];
  const time = existsSync(TIME) ? [TIME, "-f", "cpu %U %S"] : [];
  const started = performance.now();
  const r = spawnSync(time[0] ?? argv[0]!, [...time.slice(1), ...(time.length ? argv : argv.slice(1))]);
  if (r.status !== 0) throw new Error(`goaccess failed: ${r.stderr}`);
  const seconds = (performance.now() - started) / 1000;
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(String(r.stderr));
  return {
    seconds,
    cpu: m ? Number(m[1]) + Number(m[2]) : null,
    events: JSON.parse(readFileSync(report, "utf8")).general.valid_requests as number,
  };
}

/** The first `lines` lines of `file` as their own file (for shorter runs). */
async function head(file: string, lines: number): Promise<string> {
  const out = join(root, `bench/out/pipeline-head-${lines}.log`);
  if (existsSync(out)) return out;
  const w = createWriteStream(out);
  let left = lines;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    let cut = -1;
    for (let i = buf.indexOf(10); i !== -1 && left > 0; i = buf.indexOf(10, i + 1)) {
      left--;
      cut = i;
    }
    if (left > 0) w.write(buf);
    else {
      w.write(buf.subarray(0, cut + 1));
      break;
    }
  }
  await new Promise((ok) => w.end(ok));
  return out;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** One path's run on a fresh daemon: "local" (embedded default) or "kafka" (a librdkafka mock cluster of its own). */
async function runNamed(
  path: string,
  file: string,
  lines: number,
  stages: Stages,
  profile: string | undefined,
): Promise<PathRun> {
  const only = stages.archive && stages.aggregate ? "" : `, ${stages.archive ? "archive" : "aggregate"} only`;
  if (path === "local") {
    const n = localBusSchema.parse({ type: "local" }).partitions;
    return runPath(
      `embedded (local bus, ${n} partition${n === 1 ? "" : "s"}${only})`,
      file,
      lines,
      (dir) => ({ type: "local", dir: join(dir, "bus") }),
      stages,
      profile,
    );
  }
  if (path === "kafka") {
    const mock = await startKafkaMock({
      topics: [
        { name: "weblogs", partitions: 3 },
        { name: "weblogs.dlq", partitions: 3 },
      ],
    });
    try {
      return await runPath(
        `Kafka mock (3 partitions${only})`,
        file,
        lines,
        () => ({ type: "kafka", brokers: mock.bootstrap, clientId: "bench" }),
        stages,
        profile,
      );
    } finally {
      await mock.close();
    }
  }
  throw new Error(`unknown path "${path}" (local, kafka)`);
}

/** "min–max (median m)" of the values, with `digits` decimals. */
function spread(values: number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const f = (n: number) => n.toFixed(digits);
  return sorted.length === 1 ? f(median) : `${f(sorted[0]!)}–${f(sorted.at(-1)!)} (median ${f(median)})`;
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      paths: { type: "string", default: "local,kafka" },
      lines: { type: "string" },
      profile: { type: "string" },
      runs: { type: "string", default: "1" },
      stages: { type: "string", default: "archive,aggregate" },
    },
  });
  const named = values.stages!.split(",");
  const stages: Stages = { archive: named.includes("archive"), aggregate: named.includes("aggregate") };
  const unknown = named.filter((n) => n !== "archive" && n !== "aggregate");
  if (unknown.length || (!stages.archive && !stages.aggregate))
    throw new Error(`--stages ${values.stages}: name archive, aggregate or both (comma-separated)`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs ${values.runs}: give a whole number of rounds, 1 or more`);
  const paths = values.paths!.split(",");
  for (const path of paths)
    if (path !== "local" && path !== "kafka") throw new Error(`unknown path "${path}" (local, kafka)`);
  await mkdir(join(root, "bench/out"), { recursive: true });
  const { clf } = await benchInputs(root);
  const lines = values.lines ? Math.min(Number(values.lines), clf.lines) : clf.lines;
  const file = lines === clf.lines ? clf.path : await head(clf.path, lines);
  const cpu = cpus();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(
    `# logbench pipeline benchmark\n\nmachine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}; load average ${load()} at start\ninput: ${fmt(lines)} CLF lines (${clf.recipe})\ndaemon: node ${daemonFlags().join(" ") || "(Node's default heap)"} bin/logbench.js daemon\n`,
  );
  const rows: string[][] = [];
  const cpuCell = (cpu: number | null) => (cpu === null ? "–" : fmt(cpu, 1));
  /** Per path: each round's caught-up seconds and its ratio to that round's GoAccess. */
  const rounds = new Map<string, { seconds: number[]; ratios: number[] }>();
  for (let round = 1; round <= runs; round++) {
    // Each round measures its own reference: on a shared machine the ratio within a round is what holds.
    const tag = runs > 1 ? `round ${round}: ` : "";
    const ga = goaccess(file);
    const gaRate = ga ? ga.events / ga.seconds : null;
    if (ga)
      rows.push([
        `${tag}GoAccess whole report`,
        fmt(ga.seconds, 1),
        "–",
        "–",
        fmt(gaRate!),
        "1.00×",
        cpuCell(ga.cpu),
        "–",
        "",
      ]);
    else if (round === 1)
      console.log("GoAccess not found: install it with `apt-get install -y goaccess` for the reference row.");
    for (const path of paths) {
      const run = await runNamed(path, file, lines, stages, values.profile);
      const rate = run.events / run.caughtUpSeconds;
      const at = (s: number | null) => (s === null ? "–" : fmt(s, 1));
      rows.push([
        `${tag}${run.path}`,
        fmt(run.caughtUpSeconds, 1),
        `${fmt(run.replaySeconds, 1)} / ${at(run.groupSeconds.archive)} / ${at(run.groupSeconds.aggregate)}`,
        fmt(run.events / run.replaySeconds),
        fmt(rate),
        gaRate ? `${(rate / gaRate).toFixed(2)}×` : "–",
        run.daemonCpu === null
          ? "–"
          : `${fmt(run.daemonCpu, 1)} + ${cpuCell(run.replayCpu)}${ga?.cpu ? ` (${((run.daemonCpu + (run.replayCpu ?? 0)) / ga.cpu).toFixed(1)}× GoAccess)` : ""}`,
        run.peakRssMb === null ? "–" : fmt(run.peakRssMb),
        run.note,
      ]);
      const r = rounds.get(run.path) ?? { seconds: [], ratios: [] };
      r.seconds.push(run.caughtUpSeconds);
      if (gaRate) r.ratios.push(rate / gaRate);
      rounds.set(run.path, r);
      console.error(`${tag}${run.path}: done, load ${load()}`);
    }
  }
  const head_ = [
    "path",
    "caught up (s)",
    "replay done / archive / aggregate caught up (s)",
    "replay lines/s",
    "events/s end to end",
    "vs GoAccess",
    "CPU s: daemon + replay",
    "daemon peak RSS (MB)",
    "note",
  ];
  console.log(
    [
      `| ${head_.join(" | ")} |`,
      `|${head_.map(() => "---").join("|")}|`,
      ...rows.map((r) => `| ${r.join(" | ")} |`),
    ].join("\n"),
  );
  if (runs > 1) {
    console.log(`\nOver the ${runs} rounds:`);
    for (const [path, r] of rounds) {
      const ratio = r.ratios.length ? `; vs GoAccess ${spread(r.ratios, 2)}×` : "";
      console.log(`- ${path}: caught up in ${spread(r.seconds, 1)} s${ratio}`);
    }
  }
  console.log(`\nload average ${load()} at end`);
  return 0;
}
