import { appendFileSync, watch, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchDir, startBenchDaemon, writeBenchConfig } from "./daemon.ts";
import { freePort } from "./pipeline.ts";

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
  const dir = await benchDir("live");
  const log = join(dir, "access.log");
  writeFileSync(log, "");
  const port = await freePort();
  const config = await writeBenchConfig(dir, port, {
    sources: [{ type: "tail", name: "web", paths: [log], format: "clf" }],
  });
  const cpu = cpus();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(
    `# logbench live-view latency\n\nmachine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, node ${process.version}; load average ${load()} at start\ninput: ${rate} CLF lines/s appended every 50 ms for ${seconds} s to a tailed file\n`,
  );
  const daemon = startBenchDaemon(config);
  const batches: Batch[] = [];
  const abort = new AbortController();
  try {
    let res: Response | null = null;
    const ready = Date.now() + 60_000;
    while (!res) {
      res = await fetch(`http://127.0.0.1:${port}/api/windows/stream`, { signal: abort.signal }).catch(() => null);
      if (!res) {
        if (Date.now() > ready || daemon.gone()) throw new Error(`daemon did not start:\n${daemon.stderr()}`);
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
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
