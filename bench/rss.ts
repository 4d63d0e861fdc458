import { rm } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { benchDir, daemonFlags, procStatusMb, startBenchDaemon, writeBenchConfig } from "./daemon.ts";
import { freePort } from "./pipeline.ts";

/** Sums of the counters the table shows, from the daemon's /metrics (null while it does not answer). */
async function counters(port: number): Promise<Record<"generated" | "archived" | "aggregated", number> | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    if (!res.ok) return null;
    const sum = (text: string, name: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    const text = await res.text();
    return {
      generated: sum(text, "logbench_ingest_events_total"),
      archived: sum(text, "logbench_archive_received_total"),
      aggregated: sum(text, "logbench_aggregate_received_total"),
    };
  } catch {
    return null;
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      rate: { type: "string", default: "50000" },
      minutes: { type: "string", default: "10" },
      every: { type: "string", default: "10" },
    },
  });
  const rate = Number(values.rate);
  const minutes = Number(values.minutes);
  const every = Number(values.every);
  if (!(rate > 0 && minutes > 0 && every > 0)) throw new Error("--rate, --minutes and --every must be positive");
  const cpu = cpus();
  console.log(
    `# logbench daemon memory under a steady load\n\nmachine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}; load average ${load()} at start\ninput: generator source, ${fmt(rate)} lines/s for ${minutes} min (combined, seed 1)\ndaemon: node ${daemonFlags().join(" ") || "(Node's default heap)"} bin/logbench.js daemon\n`,
  );
  const dir = await benchDir("rss");
  const port = await freePort();
  const config = await writeBenchConfig(dir, port, {
    sources: [{ type: "generator", name: "gen", format: "combined", rate, seed: 1, batchLines: 5000 }],
  });
  const daemon = startBenchDaemon(config);
  const rows: Array<{ minute: number; rss: number; counts: Awaited<ReturnType<typeof counters>> }> = [];
  try {
    const started = Date.now();
    const end = started + minutes * 60_000;
    while (Date.now() < end) {
      await new Promise((ok) => setTimeout(ok, every * 1000));
      const gone = daemon.gone();
      if (gone) throw new Error(`the daemon exited (${gone}):\n${daemon.stderr()}`);
      const rss = procStatusMb(daemon.child.pid!, "VmRSS");
      if (rss !== null) rows.push({ minute: (Date.now() - started) / 60_000, rss, counts: await counters(port) });
    }
  } finally {
    const peak = procStatusMb(daemon.child.pid!, "VmHWM");
    await daemon.stop(60_000);
    await rm(dir, { recursive: true, force: true });
    if (peak !== null) console.log(`daemon peak RSS (VmHWM): ${fmt(peak)} MB`);
  }
  console.log("| minute | RSS (MB) | generated | archive read | aggregate read | generated lines/s (since last row) |");
  console.log("|---:|---:|---:|---:|---:|---:|");
  let last = { minute: 0, generated: 0 };
  for (const r of rows) {
    if (Math.floor(r.minute) === Math.floor(last.minute) && r !== rows.at(-1)) continue;
    const c = r.counts;
    const perSec = c ? (c.generated - last.generated) / ((r.minute - last.minute) * 60) : Number.NaN;
    console.log(
      `| ${fmt(r.minute, 1)} | ${fmt(r.rss)} | ${c ? fmt(c.generated) : "–"} | ${c ? fmt(c.archived) : "–"} | ${c ? fmt(c.aggregated) : "–"} | ${Number.isFinite(perSec) ? fmt(perSec) : "–"} |`,
    );
    if (c) last = { minute: r.minute, generated: c.generated };
  }
  const steady = rows.filter((r) => r.minute >= 1).map((r) => r.rss);
  if (steady.length === 0) {
    console.log("\nno samples after the first minute: run for longer");
    return 1;
  }
  const sorted = [...steady].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const spread = Math.max(median - sorted[0]!, sorted.at(-1)! - median) / median;
  const final = rows.at(-1)?.counts;
  console.log(
    `\nRSS after the first minute: ${fmt(sorted[0]!)}–${fmt(sorted.at(-1)!)} MB, median ${fmt(median)}: ±${fmt(spread * 100, 1)} % (target ±10 %: ${spread <= 0.1 ? "met" : "not met"})`,
  );
  if (final)
    console.log(
      `groups at the end: archive read ${fmt(final.archived)}, aggregate read ${fmt(final.aggregated)} of ${fmt(final.generated)} generated` +
        `${final.archived < final.generated * 0.95 || final.aggregated < final.generated * 0.95 ? " (behind the rate)" : ""}`,
    );
  console.log(`load average ${load()} at end`);
  return 0;
}
