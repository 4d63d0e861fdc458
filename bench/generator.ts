/**
 * `npm run bench -- generator [--rate N] [--seconds S]`: does the generator hold its rate? The `generator`
 * source on the local file bus and `logbench generate` into a pipe each run for S seconds (default 10) at N
 * lines/s (default 2000); lines are counted as they arrive (bus metrics, bytes on the pipe), and the achieved
 * rate must be within ±5 % of the target. Also the unpaced speed of both, for reference. Exit 1 when a paced
 * run misses the band.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createLogger, MetricsRegistry } from "../connectors/context.ts";
import { buses, createBus } from "../connectors/registry.ts";
import { sumMetric } from "../pipeline/api/status.ts";
import { Publisher } from "../pipeline/ingest/publisher.ts";
import { createGeneratorSource, generatorSourceSchema } from "../pipeline/ingest/sources/generator.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Lines per second the source put on the local bus over `seconds`, measured from its first batch. */
async function sourceRate(rate: number, seconds: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "logbench-bench-gen-"));
  const metrics = new MetricsRegistry();
  const controller = new AbortController();
  const ctx = { logger: createLogger({ level: "error" }), metrics, signal: controller.signal };
  const bus = await createBus(buses.schema.parse({ type: "local", dir: join(dir, "bus") }) as never, ctx);
  try {
    const publisher = new Publisher(bus, { events: "weblogs", deadLetters: "weblogs.dlq" }, ctx);
    const config = generatorSourceSchema.parse({ type: "generator", name: "bench", rate, seed: 1 });
    const run = createGeneratorSource(config, {
      publisher,
      stateDir: dir,
      parse: { maxLineBytes: 65536, keepRaw: false },
      ctx,
    }).run();
    const events = () => sumMetric(metrics, "logbench_ingest_events_total");
    while (events() === 0) await new Promise((r) => setTimeout(r, 1));
    const [t0, n0] = [performance.now(), events()];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [t1, n1] = [performance.now(), events()];
    controller.abort();
    await run;
    return ((n1 - n0) * 1000) / (t1 - t0);
  } finally {
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Lines per second `logbench generate` wrote into a pipe over `seconds`, from its first line. */
function cliRate(rate: number | null, seconds: number): Promise<number> {
  const args = [join(root, "bin/logbench.js"), "generate", "--seed", "1", ...(rate ? ["--rate", String(rate)] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((done, fail) => {
    let lines = 0;
    let t0 = 0;
    let n0 = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (t0 === 0) {
        [t0, n0] = [performance.now(), lines];
        setTimeout(() => {
          const perSecond = ((lines - n0) * 1000) / (performance.now() - t0);
          child.kill("SIGTERM");
          done(perSecond);
        }, seconds * 1000);
      }
    });
    child.on("error", fail);
  });
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { rate: { type: "string", default: "2000" }, seconds: { type: "string", default: "10" } },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  console.log(
    `machine: ${cpus().length}× ${cpus()[0]?.model ?? "?"}, load ${loadavg()[0]!.toFixed(1)}; ${seconds} s per run`,
  );
  const rows: [string, number | null, number][] = [
    ["generator source → local bus", rate, await sourceRate(rate, seconds)],
    ["logbench generate → pipe", rate, await cliRate(rate, seconds)],
    ["generator source, unpaced", null, await sourceRate(0, Math.min(seconds, 5))],
    ["logbench generate, unpaced", null, await cliRate(null, Math.min(seconds, 5))],
  ];
  let ok = true;
  console.log(`${"run".padEnd(32)} ${"target/s".padStart(9)} ${"got/s".padStart(9)} ${"ratio".padStart(6)}  ±5 %`);
  for (const [name, target, got] of rows) {
    const ratio = target ? got / target : null;
    const pass = ratio === null ? "" : Math.abs(ratio - 1) <= 0.05 ? "ok" : "MISSED";
    if (pass === "MISSED") ok = false;
    console.log(
      `${name.padEnd(32)} ${(target ?? "-").toString().padStart(9)} ${Math.round(got).toString().padStart(9)} ${(ratio?.toFixed(3) ?? "-").padStart(6)}  ${pass}`,
    );
  }
  return ok ? 0 : 1;
}
