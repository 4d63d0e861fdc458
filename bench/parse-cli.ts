/**
 * `npm run bench -- parse-cli [--rounds N]`: the real `logbench parse` command on the ~1M-line inputs,
 * stdout and dead letters to /dev/null, one process per run, against references measured in the
 * same run: `node -e 0` (Node start-up), `logbench parse --help` (the CLI's start-up: loading the compiled
 * command modules from lib/, or compiling the sources with tsx when lib/ is older than them) and a Node copy of the file to stdout in 1 MB reads (the I/O floor of any Node
 * reader). CPU time (user + sys, from GNU time when installed) is given beside wall time because the
 * machine is shared: wall time carries the other processes' load, CPU time much less of it.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync, readdirSync, statSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BenchInput, benchInputs } from "./parse-input.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TIME = "/usr/bin/time";
const COPY = `const fs=require("fs");const b=Buffer.allocUnsafe(1<<20);const f=fs.openSync(process.argv[1],"r");let n;while((n=fs.readSync(f,b,0,b.length,null))>0)fs.writeSync(1,b,0,n)`;

interface Timed {
  wall: number;
  /** user + sys seconds, null without GNU time. */
  cpu: number | null;
  /** The command's own summary line, when it prints one. */
  summary: string;
}

/** Runs argv with stdout to /dev/null; GNU time's `%U %S` ends stderr when it is installed. */
function timed(argv: string[]): Promise<Timed> {
  const useTime = existsSync(TIME);
  const [cmd, ...args] = useTime ? [TIME, "-f", "%U %S", ...argv] : argv;
  return new Promise((done, fail) => {
    const started = performance.now();
    const devNull = openSync("/dev/null", "w");
    const p = spawn(cmd!, args, { cwd: root, stdio: ["ignore", devNull, "pipe"] });
    let stderr = "";
    p.stderr!.on("data", (c) => {
      stderr += c;
    });
    p.on("error", fail);
    p.on("close", (code) => {
      const wall = (performance.now() - started) / 1000;
      if (code !== 0) return fail(new Error(`${argv.join(" ")} exited ${code}: ${stderr}`));
      const lines = stderr.trim().split("\n");
      const cpu = useTime ? lines.pop()!.split(" ").map(Number) : null;
      done({
        wall,
        cpu: cpu ? cpu[0]! + cpu[1]! : null,
        summary: lines.find((l) => l.startsWith("logbench parse:")) ?? "",
      });
    });
  });
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Best of `rounds` by wall time, rounds interleaved across contenders so that load hits all of them. */
async function bestOf(rounds: number, runs: Array<() => Promise<Timed>>): Promise<Timed[]> {
  const best: Array<Timed | null> = runs.map(() => null);
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < runs.length; i++) {
      const t = await runs[i]!();
      if (best[i] === null || t.wall < best[i]!.wall) best[i] = t;
    }
  return best as Timed[];
}

/** The table rows (markdown) for the CLI on each input. */
export async function cliTable(inputs: BenchInput[], formats: string[], rounds: number): Promise<string> {
  const node = process.execPath;
  const bin = join(root, "bin/logbench.js");
  const [nodeStart, cliStart] = await bestOf(rounds, [
    () => timed([node, "-e", "0"]),
    () => timed([node, bin, "parse", "--help"]),
  ]);
  const rows: string[][] = [];
  /** Lines per second of what a run does beyond its start-up (`start`), by wall and by CPU time. */
  const row = (name: string, input: string, lines: number | null, t: Timed, start: Timed, note: string) => {
    const cpuWork = t.cpu === null || start.cpu === null ? null : t.cpu - start.cpu;
    rows.push([
      name,
      input,
      fmt(t.wall, 2),
      t.cpu === null ? "–" : fmt(t.cpu, 2),
      // Within 50 ms of the start-up run, the difference is noise: no rate.
      lines === null || t.wall - start.wall < 0.05 ? "–" : fmt(lines / (t.wall - start.wall)),
      lines === null || cpuWork === null || cpuWork < 0.05 ? "–" : fmt(lines / cpuWork),
      note,
    ]);
  };
  row("`node -e 0`", "–", null, nodeStart!, nodeStart!, "Node start-up");
  row("`logbench parse --help`", "–", null, cliStart!, cliStart!, `CLI start-up (${cliRuns()})`);
  for (let k = 0; k < inputs.length; k++) {
    const input = inputs[k]!;
    const file = relative(root, input.path);
    const [copy, cli] = await bestOf(rounds, [
      () => timed([node, "-e", COPY, input.path]),
      () => timed([node, bin, "parse", "--format", formats[k]!, "--dead-letters", "/dev/null", input.path]),
    ]);
    const self = cli!.summary.match(/\(([\d,]+) lines\/s\)/)?.[1] ?? "?";
    row(
      "Node copy to stdout (reference)",
      file,
      input.lines,
      copy!,
      nodeStart!,
      "1 MB reads, no parsing: the I/O floor",
    );
    row(
      `\`logbench parse --format ${formats[k]}\``,
      file,
      input.lines,
      cli!,
      cliStart!,
      `${fmt(cli!.wall / copy!.wall, 2)}× the copy's wall time; its summary line says ${self} lines/s`,
    );
  }
  const head = [
    "command",
    "input",
    "wall s",
    "CPU s",
    "lines/s (wall − start-up)",
    "lines/s (CPU − start-up CPU)",
    "notes",
  ];
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { rounds: { type: "string", default: "3" } } });
  const rounds = Math.max(1, Number(values.rounds) || 3);
  const cpu = cpus();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  console.log(
    `# logbench parse (the command) benchmark\n\nmachine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, load average ${load()} at start`,
  );
  const inputs = await benchInputs(root);
  const table = await cliTable([inputs.clf, inputs.combined], ["clf", "combined"], rounds);
  console.log(
    `\n## \`logbench parse\`, stdout and dead letters to /dev/null (best of ${rounds} by wall time)\n\n${table}`,
  );
  console.log(`\nload average ${load()} at the end`);
  return 0;
}

/** What bin/logbench.js runs (its own test): compiled lib/ when lib/.built is newer than every source, else tsx. */
function cliRuns(): string {
  const newest = (dir: string): number => {
    let n = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) n = Math.max(n, newest(path));
      else if (e.name.endsWith(".ts")) n = Math.max(n, statSync(path).mtimeMs);
    }
    return n;
  };
  try {
    const built = statSync(join(root, "lib/.built")).mtimeMs;
    const sources = Math.max(
      newest(join(root, "pipeline")),
      newest(join(root, "connectors")),
      statSync(join(root, "observablehq.config.ts")).mtimeMs,
    );
    if (built >= sources) return "compiled lib/, command modules";
  } catch {
    // no build
  }
  return "tsx: lib/ is missing or older than the sources, run `npm run prepare`";
}
