/**
 * A private influxd 1.x (Debian package `influxdb`, 1.6.7) for the tests: its own temp folder, a generated
 * config, HTTP and the backup/restore RPC on loopback ports the kernel picks, no reporting, no monitor
 * database, no UDP/Graphite/collectd/OpenTSDB listeners. It never touches /etc/influxdb or /var/lib/influxdb,
 * so a system service from the package (if one runs) neither helps nor collides.
 * Config reference: https://docs.influxdata.com/influxdb/v1.6/administration/config/
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface InfluxdServer {
  /** e.g. http://127.0.0.1:38309 */
  url: string;
  /** Its data folder; give it to startInfluxd again (with the port) to restart the same server after kill(). */
  dir: string;
  close(): Promise<void>;
  /** Fault knob: SIGKILL, keeping the data folder (a crash, not a clean stop). */
  kill(): Promise<void>;
}

export interface InfluxdOptions {
  /** Reuse this data folder (after kill()); a fresh temp folder otherwise. */
  dir?: string;
  /** HTTP port; 0 (default) lets the kernel pick. */
  port?: number;
}

const START_TIMEOUT_MS = 30_000;

function findInfluxd(): string | null {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
  for (const dir of dirs) {
    const candidate = join(dir, "influxd");
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

function configText(dir: string, port: number): string {
  // Port 0 everywhere: influxd logs the address it got ("Listening on HTTP" addr=…), read back below.
  return `reporting-disabled = true
bind-address = "127.0.0.1:0"

[meta]
  dir = "${dir}/meta"
  logging-enabled = false

[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false

[ifql]
  enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true
`;
}

/** Start influxd and wait until /ping answers 204. */
export async function startInfluxd(options: InfluxdOptions = {}): Promise<InfluxdServer> {
  const binary = findInfluxd();
  if (!binary) {
    throw new Error("influxd not found on PATH: install InfluxDB 1.x with `apt-get install influxdb` (Debian package)");
  }
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "logbench-influxd-")));
  const configPath = join(dir, "influxdb.conf");
  const logPath = join(dir, "influxd.log");
  await writeFile(configPath, configText(dir, options.port ?? 0));
  const log = createWriteStream(logPath, { flags: "a" });
  const proc = spawn(binary, ["run", "-config", configPath], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    // influxd reads INFLUXDB_* variables as config overrides: start from a clean slate.
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("INFLUXDB_"))),
  });
  let exited: number | string | null = null;
  const exit = new Promise<void>((done) =>
    proc.on("exit", (code, signal) => {
      exited = code ?? signal ?? "unknown";
      done();
    }),
  );
  let output = "";
  const capture = (chunk: Buffer) => {
    output += chunk.toString();
    log.write(chunk);
  };
  proc.stdout?.on("data", capture);
  proc.stderr?.on("data", capture);

  // If the test runner dies without its teardown, take influxd along rather than leave it running.
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (exited === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exit;
      clearTimeout(timer);
    }
    log.end();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const url = await waitForHttp(
      proc,
      () => output,
      () => exited,
    );
    const kill = async () => {
      process.off("exit", killOnExit);
      if (exited === null) {
        proc.kill("SIGKILL");
        await exit;
      }
      log.end();
    };
    return { url, dir, close: stop, kill };
  } catch (err) {
    const tail = (await readFile(logPath, "utf8").catch(() => output)).split("\n").slice(-15).join("\n");
    await stop();
    throw new Error(`starting influxd (${binary}): ${(err as Error).message}\n--- influxd log ---\n${tail}`);
  }
}

async function waitForHttp(
  proc: ChildProcess,
  output: () => string,
  exited: () => number | string | null,
): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let url: string | null = null;
  while (Date.now() < deadline) {
    if (exited() !== null) throw new Error(`influxd exited (${exited()}) before answering /ping`);
    url ??= parseHttpAddress(output());
    if (url) {
      const ok = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 204,
        () => false,
      );
      if (ok) return url;
    }
    await sleep(50);
  }
  proc.kill("SIGKILL");
  throw new Error(`influxd did not answer /ping with 204 within ${START_TIMEOUT_MS / 1000} s`);
}

function parseHttpAddress(log: string): string | null {
  const m = /msg="Listening on HTTP"[^\n]*\baddr=(127\.0\.0\.1:\d+)/.exec(log);
  return m ? `http://${m[1]}` : null;
}
