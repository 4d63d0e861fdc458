/**
 * `npm run bench -- parse [--rounds N]`: how fast logbench reads access logs (issue 4 §6).
 *
 * 1. Builds ≥ 1M-line inputs under bench/out/ from the samples (parse-input.ts says how).
 * 2. Parsers side by side in one process on the same batches: each logbench format and a plain-regex
 *    parser that builds the same events (the reference the ratios are quoted against).
 * 3. Whole files, one process each (so peak RSS is the contender's own): logbench file → events,
 *    the regex parser file → events, logbench file → 60 s windows + top-k (the aggregate path), and
 *    GoAccess (--log-format=COMMON, JSON report) on the same CLF file.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cliTable } from "./parse-cli.ts";
import { benchInputs } from "./parse-input.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const child = join(root, "bench/parse-child.ts");
const LOGFORMAT = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"';

interface Run {
  wallSeconds: number;
  out: Record<string, unknown>;
}

function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; wallSeconds: number }> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const p = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => {
      stdout += c;
    });
    p.stderr.on("data", (c) => {
      stderr += c;
    });
    p.on("error", fail);
    p.on("close", (code) =>
      done({ code: code ?? 1, stdout, stderr, wallSeconds: (performance.now() - started) / 1000 }),
    );
  });
}

async function node(args: string[]): Promise<Run> {
  const r = await run(process.execPath, ["--import", "tsx", child, ...args]);
  if (r.code !== 0) throw new Error(`bench child ${args.join(" ")} failed: ${r.stderr}`);
  return { wallSeconds: r.wallSeconds, out: JSON.parse(r.stdout.trim().split("\n").at(-1)!) };
}

function goaccessVersion(): string | null {
  const r = spawnSync("goaccess", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? (r.stdout.split("\n")[0] ?? "goaccess").trim() : null;
}

/** GoAccess on the file, its peak RSS through GNU time when installed. */
async function goaccess(file: string): Promise<Run> {
  const report = join(root, "bench/out/goaccess-report.json");
  const args = [file, "--log-format=COMMON", "--no-ip-validation", "--no-progress", "-o", report];
  const timed = existsSync("/usr/bin/time");
  const r = timed ? await run("/usr/bin/time", ["-f", "%M", "goaccess", ...args]) : await run("goaccess", args);
  if (r.code !== 0) throw new Error(`goaccess failed: ${r.stderr}`);
  const general = JSON.parse(readFileSync(report, "utf8")).general as Record<string, number>;
  const rss = timed ? Number(r.stderr.trim().split("\n").at(-1)) : null;
  return {
    wallSeconds: r.wallSeconds,
    out: {
      lines: general.total_requests,
      events: general.valid_requests,
      dead: general.failed_requests,
      maxRssKb: rss,
    },
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join(
    "\n",
  );

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { rounds: { type: "string", default: "2" } } });
  const rounds = Math.max(1, Number(values.rounds) || 2);
  const cpu = cpus();
  const machine = `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, ${process.platform}-${process.arch}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} at start`;
  console.log(`# logbench parse benchmark\n\nmachine: ${machine}`);
  const ga = goaccessVersion();
  if (!ga)
    console.log("\nGoAccess not found: install it with `apt-get install -y goaccess` (Debian/Ubuntu) for its rows.");

  const inputs = await benchInputs(root);
  console.log("\ninputs (bench/out/, built once from data/samples):");
  for (const i of Object.values(inputs))
    console.log(
      `- ${i.label}: ${relative(root, i.path)}, ${fmt(i.lines)} lines, ${fmt(i.bytes / 1e6, 1)} MB: ${i.recipe}`,
    );

  // --- parsers side by side ------------------------------------------------------------------
  const groups: Array<[string, string, string[]]> = [
    [inputs.clf.path, "regex:clf", ["logbench:clf", "regex:clf"]],
    [
      inputs.combined.path,
      "regex:combined",
      ["logbench:combined", "logbench:nginx", `logbench:${LOGFORMAT}`, "regex:combined"],
    ],
    [inputs.json.path, "JSON.parse", ["logbench:json", "JSON.parse"]],
  ];
  const parserRows: string[][] = [];
  const parserResults: Record<string, unknown>[] = [];
  for (const [file, reference, names] of groups) {
    type Measured = { seconds: number; cpuSeconds: number; lines: number; ok: number };
    const best = new Map<string, Measured>();
    const bestCpu = new Map<string, number>();
    for (let r = 0; r < rounds; r++) {
      const { out } = await node(["batches", file, ...names]);
      for (const c of out.contenders as Array<Measured & { name: string }>) {
        if (!best.has(c.name) || c.seconds < best.get(c.name)!.seconds) best.set(c.name, c);
        bestCpu.set(c.name, Math.min(bestCpu.get(c.name) ?? Number.POSITIVE_INFINITY, c.cpuSeconds));
      }
    }
    const ref = best.get(reference)!;
    const refCpu = bestCpu.get(reference)!;
    for (const name of names) {
      const c = best.get(name)!;
      const rate = c.lines / c.seconds;
      const cpuRate = c.lines / bestCpu.get(name)!;
      parserResults.push({ file: relative(root, file), name, ...c, linesPerSecond: rate, linesPerCpuSecond: cpuRate });
      parserRows.push([
        name.length > 40 ? `${name.slice(0, 40)}…` : name,
        relative(root, file).replace("bench/out/", ""),
        fmt(c.lines),
        fmt(c.ok),
        fmt(rate),
        `${fmt(rate / (ref.lines / ref.seconds), 2)}×`,
        fmt(cpuRate),
        `${fmt(cpuRate / (ref.lines / refCpu), 2)}×`,
      ]);
    }
  }
  console.log(
    `\n## Parsers in one process, same batches (parse calls only; best of ${rounds})\n\n${table(["contender", "input", "lines", "events", "lines/s (wall)", "vs reference", "lines/CPU s", "vs reference (CPU)"], parserRows)}`,
  );
  console.log(
    "reference: the regex parser of the same layout (regex, split, Date.UTC, same event object); JSON.parse for JSON",
  );

  // --- whole files, one process each ---------------------------------------------------------
  const clf = inputs.clf.path;
  const contenders: Array<[string, () => Promise<Run>]> = [
    ["logbench file → events (clf)", () => node(["file", "events", clf])],
    ["regex file → events", () => node(["file", "regex-events", clf])],
    ["logbench file → 60 s windows + top-k", () => node(["file", "aggregates", clf])],
  ];
  if (ga) contenders.push([`GoAccess ${ga.replace(/^GoAccess - /, "")} (COMMON, JSON report)`, () => goaccess(clf)]);
  const fileRuns: Array<{ name: string; best: Run }> = [];
  for (const [name, go] of contenders) {
    let best: Run | null = null;
    for (let r = 0; r < rounds; r++) {
      const result = await go();
      if (!best || result.wallSeconds < best.wallSeconds) best = result;
    }
    fileRuns.push({ name, best: best! });
  }
  const goRun = fileRuns.find((f) => f.name.startsWith("GoAccess"));
  const fileRows = fileRuns.map(({ name, best }) => {
    const o = best.out as { lines: number; events: number; seconds?: number; maxRssKb: number | null; points?: number };
    return [
      name,
      fmt(o.lines),
      fmt(o.events),
      fmt(best.wallSeconds, 2),
      o.seconds === undefined ? "–" : fmt(o.seconds, 2),
      fmt(o.lines / best.wallSeconds),
      o.maxRssKb === null ? "n/a" : fmt(o.maxRssKb / 1024),
      goRun ? `${fmt(goRun.best.wallSeconds / best.wallSeconds, 2)}×` : "–",
    ];
  });
  console.log(
    `\n## Whole file ${relative(root, clf)}, one process each (best of ${rounds} by wall time)\n\n${table(
      ["contender", "lines", "events", "wall s", "work s", "lines/s (wall)", "peak RSS MB", "speed vs GoAccess"],
      fileRows,
    )}`,
  );
  console.log(
    "wall s: process start to exit (node + tsx start-up included); work s: inside the process, file open to last point",
  );

  const clfParser = parserResults.find((r) => r.name === "logbench:clf");
  const clfRate = (clfParser?.linesPerSecond as number) ?? 0;
  const clfCpuRate = (clfParser?.linesPerCpuSecond as number) ?? 0;
  const agg = fileRuns.find((f) => f.name.includes("windows"))!;
  console.log(
    `\ntargets: logbench clf parser ${fmt(clfRate)} lines/s by wall time, ${fmt(clfCpuRate)} per CPU second, on one core (target 3,000,000: ${clfRate >= 3e6 ? "met" : clfCpuRate >= 3e6 ? "met by CPU time only" : "not met"})` +
      (goRun
        ? `; file → aggregates ${fmt(goRun.best.wallSeconds / agg.best.wallSeconds, 2)}× GoAccess (target 3×: ${goRun.best.wallSeconds / agg.best.wallSeconds >= 3 ? "met" : "not met"})`
        : ""),
  );
  console.log(
    `\n## \`logbench parse\` (the command), stdout and dead letters to /dev/null (best of ${rounds} by wall time)\n\n${await cliTable([inputs.clf, inputs.combined], ["clf", "combined"], rounds)}`,
  );
  console.log(
    `\nload average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} at the end`,
  );
  const results = { machine, inputs, rounds, parsers: parserResults, files: fileRuns, at: new Date().toISOString() };
  writeFileSync(join(root, "bench/out/parse-results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("\nfull results: bench/out/parse-results.json");
  return 0;
}
