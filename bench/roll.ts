/**
 * `npm run bench -- roll [--hours N] [--per N] [--rounds N]`: what one archive roll of a replayed backlog costs
 * per file. One partition holds N event-time hours of `per` events each (a 1 M-line replay gives about 1,080 hours
 * and 300 events per hour and partition); the roll writes one Parquet file per hour. In the same process and
 * rounds, interleaved:
 *   - the archive stage's roll (pipeline/archive/stage.ts, scripted bus, local archive): what the daemon does now;
 *   - the reference: the roll as it was before issue 10's archive work, step for step (one read_json + COPY per
 *     spool, a durable create per file, the log entry, a durable rename per file, fs.rm of each spool);
 *   - the encoder alone, both ways (grouped `encodeSpools`, and one `encodeJsonLines` per spool), no store:
 *     how much of a roll is DuckDB.
 * Times are wall clock per roll, on a machine other work shares: read the ratios, measured under the same load.
 */
import { rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { silentContext } from "../connectors/context.ts";
import { createLocalArchive } from "../connectors/local/archive-dir.ts";
import type { BusMessage } from "../connectors/types.ts";
import { bucketKey, bucketOf, finalPath, tmpPath, walEntryPath, walTmpPath } from "../pipeline/archive/layout.ts";
import { commitLogEntry } from "../pipeline/archive/ownership.ts";
import { EVENT_LAYOUT, joinLines, ParquetEncoder, type Spool } from "../pipeline/archive/parquet.ts";
import { ArchiveStage } from "../pipeline/archive/stage.ts";
import { parseConfig } from "../pipeline/config/load.ts";
import { scriptedBus } from "../test/pipeline/archive/roll-fixture.ts";
import { benchDir } from "./daemon.ts";

const HOUR = 3_600_000;
const START = Date.UTC(1995, 6, 1);
const enc = new TextEncoder();
const PATHS = ["/images/NASA-logosmall.gif", "/shuttle/countdown/", "/images/KSC-logosmall.gif", "/history/apollo/"];

/** `hours` × `per` events as the bus holds them, hour after hour (a replay publishes in time order). */
function messages(hours: number, per: number): BusMessage[] {
  const out: BusMessage[] = [];
  for (let h = 0; h < hours; h++)
    for (let i = 0; i < per; i++) {
      const offset = out.length;
      const host = `host${(offset * 7919) % 3001}.example.com`;
      const event = {
        ts: START + h * HOUR + Math.floor((i * HOUR) / per),
        host,
        ident: null,
        user: null,
        method: "GET",
        path: `${PATHS[offset % PATHS.length]}${offset % 13 === 0 ? `x${offset}` : ""}`,
        query: null,
        protocol: "HTTP/1.0",
        status: offset % 17 === 0 ? 404 : 200,
        bytes: offset % 17 === 0 ? null : 1000 + (offset % 5000),
        referrer: null,
        agent: null,
        source: "bench",
      };
      out.push({ partition: 0, offset, key: host, timestamp: 0, value: enc.encode(JSON.stringify(event)) });
    }
  return out;
}

/** The stage's roll of all the messages: ms from the revoke to the roll done. */
async function stageRoll(dir: string, all: BusMessage[]): Promise<Took> {
  const ctx = silentContext();
  const store = createLocalArchive({ type: "local", dir: join(dir, "archive") }, ctx);
  const config = parseConfig({ archiver: { roll: { records: 10_000_000, size: "1GB", idle: "1h", interval: "1h" } } });
  const { bus, options } = scriptedBus();
  const stage = new ArchiveStage({
    bus,
    store,
    topic: "weblogs",
    deadLetterTopic: "weblogs.dlq",
    config: config.archiver,
    scratchDir: join(dir, "scratch"),
    ctx,
    onFatal: (err) => {
      throw err;
    },
  });
  await stage.start();
  await options().onAssigned!([{ partition: 0, committed: null }]);
  for (let at = 0; at < all.length; at += 5_000) await options().onBatch(0, all.slice(at, at + 5_000));
  const t = timer();
  await options().onRevoked!([0]);
  const took = t();
  await stage.stop();
  return took;
}

interface Took {
  ms: number;
  /** CPU ms of the whole process (main thread, DuckDB's thread, libuv's pool): less bent by other work's load. */
  cpuMs: number;
}

function timer(): () => Took {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
  };
}

/** The messages' spool files per hour bucket, as the stage writes them. */
async function writeSpools(encoder: ParquetEncoder, all: BusMessage[]) {
  const buckets = new Map<string, { values: Uint8Array[]; first: number; last: number }>();
  for (const m of all) {
    const key = bucketKey(bucketOf(JSON.parse(new TextDecoder().decode(m.value)).ts));
    let b = buckets.get(key);
    if (!b) {
      b = { values: [], first: m.offset, last: m.offset };
      buckets.set(key, b);
    }
    b.values.push(m.value);
    b.last = m.offset;
  }
  const out: Array<{ key: string; first: number; last: number; spool: Spool }> = [];
  for (const [key, b] of buckets) {
    const path = encoder.spoolPath();
    const lines = joinLines(b.values);
    await writeFile(path, lines);
    const longest = Math.max(...b.values.map((v) => v.length));
    out.push({
      key,
      first: b.first,
      last: b.last,
      spool: { path, records: b.values.length, longest, bytes: lines.length },
    });
  }
  return out;
}

/** The roll as it was before: per spool one read_json + COPY, a durable create; the log entry; durable renames. */
async function referenceRoll(dir: string, all: BusMessage[]): Promise<Took> {
  const ctx = silentContext();
  const store = createLocalArchive({ type: "local", dir: join(dir, "archive") }, ctx);
  const encoder = await ParquetEncoder.create(join(dir, "scratch"));
  const buckets = await writeSpools(encoder, all);
  const t = timer();
  const token = "ref";
  const files: Array<{ tmp: string; final: string }> = [];
  for (const b of buckets) {
    const data = await encoder.encodeJsonLines(b.spool.path, b.spool.longest, EVENT_LAYOUT as never, "zstd");
    const tmp = tmpPath("weblogs", b.key, 0, b.first, b.last, token);
    await store.create(tmp, data, { overwrite: true });
    files.push({ tmp, final: finalPath("weblogs", b.key, 0, b.first, b.last) });
  }
  const last = all.at(-1)!.offset;
  const body = enc.encode(JSON.stringify({ partition: 0, first: 0, last, files, member: "ref" }));
  await commitLogEntry(
    store,
    { topic: "weblogs", partition: 0, member: "ref" },
    walTmpPath("weblogs", 0, last, token),
    walEntryPath("weblogs", 0, last),
    body,
  );
  for (const f of files) await store.rename(f.tmp, f.final);
  for (const b of buckets) await rm(b.spool.path, { force: true });
  const took = t();
  await encoder.close();
  return took;
}

/** DuckDB alone: the grouped encoder, or one read_json + COPY per spool. */
async function encodeOnly(dir: string, all: BusMessage[], grouped: boolean): Promise<Took> {
  const encoder = await ParquetEncoder.create(join(dir, "scratch"));
  const buckets = await writeSpools(encoder, all);
  const t = timer();
  if (grouped)
    for await (const _ of encoder.encodeSpools(
      buckets.map((b) => b.spool),
      EVENT_LAYOUT as never,
      "zstd",
    ));
  else
    for (const b of buckets)
      await encoder.encodeJsonLines(b.spool.path, b.spool.longest, EVENT_LAYOUT as never, "zstd");
  const took = t();
  await encoder.close();
  return took;
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      hours: { type: "string", default: "100" },
      per: { type: "string", default: "300" },
      rounds: { type: "string", default: "3" },
    },
  });
  const hours = Number(values.hours);
  const per = Number(values.per);
  const rounds = Number(values.rounds);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(
    `# archive roll benchmark\n\nmachine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, node ${process.version}; load average ${load()} at start\ninput: one partition, ${hours} event-time hours × ${per} events (one roll of ${hours} files), zstd, best of ${rounds} rounds\n`,
  );
  const all = messages(hours, per);
  const contenders: Array<[string, (dir: string) => Promise<Took>]> = [
    ["archive stage roll (now)", (d) => stageRoll(d, all)],
    ["roll as before (reference)", (d) => referenceRoll(d, all)],
    ["encoder only, grouped (now)", (d) => encodeOnly(d, all, true)],
    ["encoder only, one read_json per file (before)", (d) => encodeOnly(d, all, false)],
  ];
  // Best of the rounds, wall and CPU separately.
  const best = new Map<string, Took>();
  for (let r = 0; r < rounds; r++)
    for (const [name, run] of contenders) {
      const dir = await benchDir("roll");
      try {
        const took = await run(dir);
        const was = best.get(name) ?? { ms: Number.POSITIVE_INFINITY, cpuMs: Number.POSITIVE_INFINITY };
        best.set(name, { ms: Math.min(was.ms, took.ms), cpuMs: Math.min(was.cpuMs, took.cpuMs) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  const reference = best.get("roll as before (reference)")!;
  const head = ["contender", "files", "ms per roll", "ms per file", "vs before", "CPU ms per file", "vs before (CPU)"];
  const rows = contenders.map(([name]) => {
    const { ms, cpuMs } = best.get(name)!;
    return [
      name,
      String(hours),
      ms.toFixed(0),
      (ms / hours).toFixed(2),
      `${(reference.ms / ms).toFixed(2)}×`,
      (cpuMs / hours).toFixed(2),
      `${(reference.cpuMs / cpuMs).toFixed(2)}×`,
    ];
  });
  console.log(
    [
      `| ${head.join(" | ")} |`,
      `|${head.map(() => "---").join("|")}|`,
      ...rows.map((r) => `| ${r.join(" | ")} |`),
    ].join("\n"),
  );
  console.log(`\nload average ${load()} at end`);
  return 0;
}
