/**
 * Runs the real daemon as a child process (`node bin/logbench.js daemon`, with the heap limits it ships with), so a
 * test can SIGKILL it, and checks its output through the same catalog `logbench query` uses.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { stringify } from "yaml";
import { silentContext } from "../../connectors/context.ts";
import { DAEMON_DENO_V8_FLAG, DAEMON_MALLOC_ENV, DAEMON_V8_FLAGS } from "../../pipeline/cli/daemon-v8-flags.ts";
import { loadConfig, packageRoot } from "../../pipeline/config/load.ts";
import type { Config } from "../../pipeline/config/schema.ts";
import { runSql } from "../../pipeline/query/catalog.ts";

export const SAMPLES = resolve(packageRoot, "data/samples");

export interface DaemonProcess {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function writeConfig(dir: string, overrides: Record<string, unknown>): string {
  const file = join(dir, "logbench.yaml");
  const base = {
    topic: "weblogs",
    stateDir: join(dir, "state"),
    bus: { type: "local", dir: join(dir, "bus"), partitions: 3 },
    archive: { type: "local", dir: join(dir, "archive") },
    series: { type: "duckdb", file: join(dir, "series.duckdb") },
    sources: [
      {
        type: "spooldir",
        name: "spool",
        dir: join(dir, "spool"),
        format: "clf",
        batchLines: 200,
        pollInterval: "200ms",
      },
    ],
    parse: { keepRaw: true },
    archiver: { roll: { records: 700, idle: "1s", interval: "1m", size: "64MB" } },
    aggregator: { flushInterval: "300ms", lateness: "5m" },
    api: { port: 0 },
    ...overrides,
  };
  writeFileSync(file, stringify(base));
  return file;
}

/**
 * Drop files into a spool folder the way a log shipper should: copy elsewhere, then rename in. Names get an
 * order prefix because the spool reads in name order and files must arrive in time order (a file a month
 * older than what came before is late by event time, and its windows are closed).
 */
export function spool(dir: string, files: string[]): void {
  mkdirSync(dir, { recursive: true });
  files.forEach((f, i) => {
    const name = `${String(i + 1).padStart(2, "0")}-${basename(f)}`;
    const staged = join(dir, `.${name}.staging`);
    copyFileSync(f, staged);
    renameSync(staged, join(dir, name));
  });
}

/**
 * `denoFlags` replaces the harness's own Deno permissions (e.g. with what `logbench deno-flags` printed);
 * `daemonArgs` go after the daemon's own (e.g. `--log-level debug`).
 */
export function startDaemon(
  configFile: string,
  runner: "node" | "deno" = "node",
  denoFlags: string[] = DENO_PERMISSIONS(configFile),
  daemonArgs: string[] = [],
): DaemonProcess {
  const args =
    runner === "node"
      ? [...DAEMON_V8_FLAGS, resolve(packageRoot, "bin/logbench.js"), "daemon", "--config", configFile, ...daemonArgs]
      : [
          "run",
          DAEMON_DENO_V8_FLAG,
          ...denoFlags,
          resolve(packageRoot, "pipeline/cli/deno-entry.ts"),
          "daemon",
          "--config",
          configFile,
          ...daemonArgs,
        ];
  const command = runner === "node" ? process.execPath : resolve(packageRoot, "node_modules/.bin/deno");
  const child = spawn(command, args, {
    cwd: packageRoot,
    env: { ...process.env, ...DAEMON_MALLOC_ENV },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d;
  });
  child.stdout!.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { child, stderr: () => err, exited };
}

function DENO_PERMISSIONS(configFile: string): string[] {
  const dir = resolve(configFile, "..");
  return [
    `--allow-read=${packageRoot},${dir}`,
    `--allow-write=${dir}`,
    "--allow-net=127.0.0.1,localhost",
    "--allow-env",
    "--allow-sys",
    "--allow-ffi",
    "--allow-run",
  ];
}

export async function query(configFile: string, sql: string): Promise<Record<string, unknown>[]> {
  const config: Config = await loadConfig(configFile);
  return runSql(config, silentContext(), sql);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; daemon?: DaemonProcess } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
  throw new Error(
    `Timed out waiting for ${what}; last value ${JSON.stringify(last)}; last error ${String(lastError)}\n` +
      `daemon output (tail):\n${options.daemon?.stderr().slice(-3000) ?? ""}`,
  );
}

/**
 * Signal the daemon and wait for it to exit. A daemon that has not exited after `timeoutMs` is killed and the
 * call fails with its log tail, so a hung drain names itself instead of running into the test's timeout.
 */
export async function stopDaemon(
  d: DaemonProcess,
  signal: NodeJS.Signals = "SIGTERM",
  timeoutMs = 90_000,
): Promise<number | null> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return d.exited;
  d.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      d.child.kill("SIGKILL");
      fail(
        new Error(`the daemon did not exit within ${timeoutMs} ms of ${signal}; log tail:\n${d.stderr().slice(-3000)}`),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([d.exited, hung]);
  } finally {
    clearTimeout(timer);
  }
}
