/**
 * `npm run bench -- live [--rate N] [--seconds S]`: how soon a line appended to a tailed file shows in the live
 * view. A fresh daemon (`node bin/logbench.js daemon`, embedded default, a tail source with its default poll and
 * fs.watch, the default 2 s flush) follows one file; this process appends CLF lines stamped with the current time
 * every 50 ms at N lines/s, and reads `/api/windows/stream` (SSE). A batch's latency is from its append to the
 * first stream event whose window counts include it. The reference, measured on the same appends in the same
 * run: an fs.watch on the file in this process (what the OS alone takes to say the file grew).
 */
import { spawn } from "node:child_process";
import { appendFileSync, watch, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { DAEMON_V8_FLAGS } from "../pipeline/cli/daemon-v8-flags.ts";
import { freePort } from "./pipeline.ts";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const bin = join(root, "bin/logbench.js");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function clfTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

interface Batch {
  at: number;
  /** Lines appended up to and including this batch. */
  total: number;
  shown?: number;
  watched?: number;
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "30" } },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  await mkdir(join(root, "bench/out"), { recursive: true });
  const dir = await mkdtemp(join(root, "bench/out/live-"));
  const log = join(dir, "access.log");
  writeFileSync(log, "");
  const port = await freePort();
  const config = join(dir, "logbench.yaml");
  await writeFile(
    config,
    stringify({
      topic: "weblogs",
      deadLetters: { topic: "weblogs.dlq" },
      stateDir: join(dir, "state"),
      bus: { type: "local", dir: join(dir, "bus"), partitions: 3 },
      archive: { type: "local", dir: join(dir, "archive") },
      series: { type: "duckdb", file: join(dir, "series.duckdb") },
      sources: [{ type: "tail", name: "web", paths: [log], format: "clf" }],
      api: { host: "127.0.0.1", port },
    }),
  );
  const cpu = cpus();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(
    `# logbench live-view latency\n\nmachine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, node ${process.version}; load average ${load()} at start\ninput: ${rate} CLF lines/s appended every 50 ms for ${seconds} s to a tailed file\n`,
  );
  const daemon = spawn(process.execPath, [...DAEMON_V8_FLAGS, bin, "daemon", "--config", config], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let daemonErr = "";
  daemon.stderr.on("data", (d) => {
    daemonErr = (daemonErr + d).slice(-8000);
  });
  const exited = new Promise((ok) => daemon.on("exit", ok));
  const batches: Batch[] = [];
  const abort = new AbortController();
  try {
    let res: Response | null = null;
    const ready = Date.now() + 60_000;
    while (!res) {
      res = await fetch(`http://127.0.0.1:${port}/api/windows/stream`, { signal: abort.signal }).catch(() => null);
      if (!res) {
        if (Date.now() > ready || daemon.exitCode !== null) throw new Error(`daemon did not start:\n${daemonErr}`);
        await new Promise((ok) => setTimeout(ok, 200));
      }
    }
    // Let the tail source open the file (it follows from the end) before the first append.
    await new Promise((ok) => setTimeout(ok, 2000));
    const started = Date.now();
    let seen = 0;
    const reading = (async () => {
      const decoder = new TextDecoder();
      let text = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const now = Date.now();
        text += decoder.decode(chunk, { stream: true });
        let end = text.indexOf("\n\n");
        while (end !== -1) {
          const data = /^data: (.*)$/m.exec(text.slice(0, end))?.[1];
          text = text.slice(end + 2);
          end = text.indexOf("\n\n");
          if (!data) continue;
          const { windows } = JSON.parse(data) as { windows: Array<{ start: number; count: number }> };
          const total = windows.filter((w) => w.start >= started - 60_000).reduce((n, w) => n + w.count, 0);
          for (; seen < batches.length && batches[seen]!.total <= total; seen++) batches[seen]!.shown = now;
        }
      }
    })().catch(() => undefined);
    let watchedUpTo = 0;
    const watcher = watch(log, () => {
      const now = Date.now();
      for (; watchedUpTo < batches.length; watchedUpTo++) batches[watchedUpTo]!.watched ??= now;
    });
    const perBatch = Math.max(1, Math.round(rate / 20));
    let total = 0;
    let n = 0;
    while (Date.now() - started < seconds * 1000) {
      const now = Date.now();
      const lines: string[] = [];
      for (let i = 0; i < perBatch; i++) {
        n++;
        lines.push(`host${n % 97}.example - - [${clfTime(now)}] "GET /live/${n} HTTP/1.0" 200 ${100 + (n % 900)}`);
      }
      total += perBatch;
      batches.push({ at: now, total });
      appendFileSync(log, `${lines.join("\n")}\n`);
      await new Promise((ok) => setTimeout(ok, Math.max(0, now + 50 - Date.now())));
    }
    const deadline = Date.now() + 15_000;
    while (seen < batches.length && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
    watcher.close();
    abort.abort();
    await reading;
    const lat = batches.filter((b) => b.shown !== undefined).map((b) => b.shown! - b.at);
    const ref = batches.filter((b) => b.watched !== undefined).map((b) => b.watched! - b.at);
    lat.sort((a, b) => a - b);
    ref.sort((a, b) => a - b);
    const row = (name: string, xs: number[]) =>
      `| ${name} | ${xs.length} of ${batches.length} | ${[0.5, 0.9, 0.99].map((q) => percentile(xs, q)).join(" | ")} | ${xs.at(-1)} |`;
    console.log(
      [
        "| path | batches seen | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
        row("append → /api/windows/stream", lat),
        row("append → fs.watch in the writer (reference)", ref),
      ].join("\n"),
    );
    const p99 = percentile(lat, 0.99);
    console.log(
      `\ntarget p99 ≤ 1000 ms: ${lat.length < batches.length ? "NOT MET (batches never shown)" : p99 <= 1000 ? "met" : "NOT MET"}; load average ${load()} at end`,
    );
    return 0;
  } finally {
    abort.abort();
    daemon.kill("SIGTERM");
    const timer = setTimeout(() => daemon.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  }
}
