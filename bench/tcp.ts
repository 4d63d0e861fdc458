/**
 * `npm run bench -- tcp [--connections N] [--rounds N] [--only TEXT]`: how many lines per second the tcp source takes from
 * local senders over loopback (issue 8 §2: at least 100,000 lines/s).
 *
 * The CLF input of the parse bench (~1 M lines, bench/out/, built once from the samples) is sent by child
 * processes (plain node, one per connection, each sending its share of the file) to:
 *   1. a raw socket reader that only counts newlines: the reference, what loopback and the sender can do here;
 *   2. the tcp source with a publisher that drops the batches (the source alone: sockets, lines, parse);
 *   3. the tcp source with the embedded local bus (file log, fsync off, then on): the whole ingest path.
 * Time runs from the first connection to the last line acknowledged. Peak RSS is sampled every 50 ms.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLogger, MetricsRegistry } from "../connectors/context.ts";
import { createLocalBus } from "../connectors/local/file-log.ts";
import { Publisher } from "../pipeline/ingest/publisher.ts";
import type { SourceRuntime } from "../pipeline/ingest/source.ts";
import { createTcpSource, tcpSource } from "../pipeline/ingest/sources/tcp.ts";
import { benchInputs } from "./parse-input.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOPICS = { events: "weblogs", deadLetters: "weblogs.dlq" };

// Each sender sends bytes [start, end) of the file, cut at line boundaries by the parent.
const SENDER = `
const net = require("node:net"), fs = require("node:fs");
const [file, port, start, end] = process.argv.slice(1);
const s = net.connect(Number(port), "127.0.0.1", () => {
  fs.createReadStream(file, { start: Number(start), end: Number(end) - 1, highWaterMark: 1 << 16 }).pipe(s);
});
s.on("error", (e) => { console.error(e.message); process.exit(1); });
`;

interface Result {
  name: string;
  lines: number;
  seconds: number;
  peakRssMb: number;
}

/** Byte ranges of `parts` pieces of the file, each ending after a newline. */
function split(file: string, parts: number): Array<[number, number]> {
  const data = readFileSync(file);
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let i = 1; i <= parts; i++) {
    let end = i === parts ? data.length : Math.floor((data.length * i) / parts);
    if (i < parts) end = data.indexOf(10, end) + 1;
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

function send(file: string, port: number, ranges: Array<[number, number]>): Promise<void> {
  return Promise.all(
    ranges.map(
      ([start, end]) =>
        new Promise<void>((done, fail) => {
          const p = spawn(process.execPath, ["-e", SENDER, file, String(port), String(start), String(end)], {
            stdio: ["ignore", "ignore", "inherit"],
          });
          p.on("exit", (code) => (code === 0 ? done() : fail(new Error(`sender exited ${code}`))));
        }),
    ),
  ).then(() => undefined);
}

async function measure(name: string, lines: number, go: () => Promise<void>): Promise<Result> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  await go();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { name, lines, seconds, peakRssMb: peak / 2 ** 20 };
}

/** Reference: read the sockets and count newlines, nothing else. */
async function rawRead(file: string, ranges: Array<[number, number]>, lines: number): Promise<void> {
  let seen = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => {
    finished = r;
  });
  const server = createServer((socket) => {
    socket.on("data", (chunk: Buffer) => {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) seen++;
      if (seen === lines) finished();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  await send(file, (server.address() as { port: number }).port, ranges);
  await all;
  server.close();
}

/** The tcp source, with `publisher` (null: batches are dropped), until every line is acknowledged. */
async function throughSource(
  file: string,
  ranges: Array<[number, number]>,
  lines: number,
  bus: "none" | "local" | "local-fsync",
): Promise<void> {
  const controller = new AbortController();
  const metrics = new MetricsRegistry();
  let port = 0;
  const logger = createLogger({
    level: "info",
    write: (line) => {
      const rec = JSON.parse(line);
      if (rec.port) port = rec.port;
      else if (rec.level !== "info") process.stderr.write(line);
    },
  });
  const ctx = { logger, metrics, signal: controller.signal };
  let acked = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => {
    finished = r;
  });
  const dir = mkdtempSync(join(tmpdir(), "logbench-bench-tcp-"));
  let publisher: Publisher;
  let localBus: ReturnType<typeof createLocalBus> | undefined;
  if (bus === "none") {
    publisher = {
      async publish(_s: string, events: unknown[], dead: unknown[]) {
        acked += events.length + dead.length;
        if (acked >= lines) finished();
      },
    } as unknown as Publisher;
  } else {
    localBus = createLocalBus(
      { type: "local", dir: join(dir, "bus"), partitions: 3, fsync: bus === "local-fsync" },
      ctx,
    );
    const real = new Publisher(localBus, TOPICS, ctx);
    publisher = {
      async publish(s: string, events: never[], dead: never[]) {
        await real.publish(s, events, dead);
        acked += events.length + dead.length;
        if (acked >= lines) finished();
      },
    } as unknown as Publisher;
  }
  const rt: SourceRuntime = { publisher, stateDir: dir, parse: { maxLineBytes: 65536, keepRaw: false }, ctx };
  const config = tcpSource.schema.parse({ type: "tcp", name: "bench", port: 0, format: "clf" });
  const running = createTcpSource(config, rt).run();
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  await send(file, port, ranges);
  await all;
  controller.abort();
  await running;
  await localBus?.close();
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      connections: { type: "string", default: "4" },
      rounds: { type: "string", default: "2" },
      only: { type: "string" },
    },
  });
  const connections = Math.max(1, Number(values.connections) || 4);
  const rounds = Math.max(1, Number(values.rounds) || 2);
  const cpu = cpus();
  const machine = `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, ${process.platform}-${process.arch}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} at start`;
  console.log(`# logbench tcp source benchmark\n\nmachine: ${machine}`);
  const input = (await benchInputs(root)).clf;
  const lines = input.lines;
  console.log(
    `input: ${relative(root, input.path)}, ${fmt(lines)} lines, ${fmt(statSync(input.path).size / 1e6, 1)} MB, sent by ${connections} sender processes over loopback, one connection each`,
  );
  const ranges = split(input.path, connections);
  const contenders: Array<[string, () => Promise<void>]> = [
    ["raw socket read (count newlines)", () => rawRead(input.path, ranges, lines)],
    ["tcp source, batches dropped", () => throughSource(input.path, ranges, lines, "none")],
    ["tcp source → local bus (fsync off)", () => throughSource(input.path, ranges, lines, "local")],
    ["tcp source → local bus (fsync on)", () => throughSource(input.path, ranges, lines, "local-fsync")],
  ];
  // --only TEXT: the reference and the contenders whose name contains TEXT (e.g. to profile one of them).
  const chosen = contenders.filter(([name], i) => i === 0 || !values.only || name.includes(values.only));
  const best = new Map<string, Result>();
  for (let r = 0; r < rounds; r++)
    for (const [name, go] of chosen) {
      const result = await measure(name, lines, go);
      if (!best.has(name) || result.seconds < best.get(name)!.seconds) best.set(name, result);
    }
  const reference = best.get(contenders[0]![0])!;
  const rows = [...best.values()].map((b) => {
    const rate = b.lines / b.seconds;
    return `| ${b.name} | ${fmt(b.lines)} | ${fmt(b.seconds, 2)} | ${fmt(rate)} | ${fmt(rate / (reference.lines / reference.seconds), 2)}× | ${fmt(b.peakRssMb)} |`;
  });
  console.log(
    `\n## Loopback → lines acknowledged (best of ${rounds})\n\n| contender | lines | seconds | lines/s | vs raw read | peak RSS MB |\n|---|---|---|---|---|---|\n${rows.join("\n")}`,
  );
  const full = best.get(contenders[2]![0]);
  if (!full) return 0;
  const rate = full.lines / full.seconds;
  console.log(
    `\ntarget: tcp source → local bus ${fmt(rate)} lines/s (target 100,000: ${rate >= 100_000 ? "met" : "not met"}); load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} at end`,
  );
  return 0;
}
