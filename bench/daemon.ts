/**
 * The daemon as the benches run it: `node <heap limits> bin/logbench.js daemon --config FILE` in a child process,
 * on an embedded config in a fresh folder, with its stderr kept for the error a bench prints when it dies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { DAEMON_MALLOC_ENV, DAEMON_V8_FLAGS } from "../pipeline/cli/daemon-v8-flags.ts";

export const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const bin = join(root, "bin/logbench.js");

/** A new working directory under bench/out/ (created on a fresh checkout too), named `<name>-XXXXXX`. */
export async function benchDir(name: string): Promise<string> {
  await mkdir(join(root, "bench/out"), { recursive: true });
  return mkdtemp(join(root, `bench/out/${name}-`));
}

/** The daemon's Node flags: the shipped heap limits, or BENCH_DAEMON_NODE_FLAGS when it is set (empty: Node's). */
export function daemonFlags(): string[] {
  const override = process.env.BENCH_DAEMON_NODE_FLAGS;
  return override === undefined ? [...DAEMON_V8_FLAGS] : override.split(" ").filter(Boolean);
}

/**
 * Writes `dir/logbench.yaml`: local bus (the embedded default's partitions), local archive and DuckDB series in `dir`, the API on
 * 127.0.0.1:`port`, plus `settings` (sources, archiver, aggregator, or another bus). Returns its path.
 */
export async function writeBenchConfig(dir: string, port: number, settings: Record<string, unknown>): Promise<string> {
  const file = join(dir, "logbench.yaml");
  await writeFile(
    file,
    stringify({
      topic: "weblogs",
      deadLetters: { topic: "weblogs.dlq" },
      stateDir: join(dir, "state"),
      bus: { type: "local", dir: join(dir, "bus") },
      archive: { type: "local", dir: join(dir, "archive") },
      series: { type: "duckdb", file: join(dir, "series.duckdb") },
      sources: [],
      api: { host: "127.0.0.1", port },
      ...settings,
    }),
  );
  return file;
}

export interface BenchDaemon {
  child: ChildProcess;
  /** The last 8 kB of its stderr. */
  stderr(): string;
  /** Why it is gone ("exit code 1", "signal SIGABRT": an out-of-memory abort has no exit code), or null. */
  gone(): string | null;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startBenchDaemon(config: string, nodeFlags: string[] = []): BenchDaemon {
  const child = spawn(process.execPath, [...nodeFlags, ...daemonFlags(), bin, "daemon", "--config", config], {
    cwd: root,
    // The malloc settings it ships with, unless the environment has its own (MALLOC_ARENA_MAX=8 to compare).
    env: { ...DAEMON_MALLOC_ENV, ...process.env },
    // BENCH_DAEMON_STDOUT=FILE keeps what the daemon prints (a --trace-gc-nvp log, say) in FILE.
    stdio: [
      "ignore",
      process.env.BENCH_DAEMON_STDOUT ? openSync(process.env.BENCH_DAEMON_STDOUT, "w") : "ignore",
      "pipe",
    ],
  });
  let err = "";
  child.stderr!.on("data", (d) => {
    err = (err + d).slice(-8000);
  });
  const exited = new Promise<void>((ok) => child.on("exit", () => ok()));
  return {
    child,
    stderr: () => err,
    gone: () =>
      child.exitCode !== null ? `exit code ${child.exitCode}` : child.signalCode ? `signal ${child.signalCode}` : null,
    async stop(graceMs = 30_000) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A size field of /proc/<pid>/status in MB (VmRSS now, VmHWM the peak); null off Linux or once it is gone. */
export function procStatusMb(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null off Linux or once it is gone.
 * On a shared machine this moves much less with the other processes' load than wall time does.
 */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces, hence the last ")"): utime and stime are the 12th and
    // 13th of them, in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
