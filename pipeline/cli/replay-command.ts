/** `logbench replay FILE… --format F [--speed N] [--config FILE]`: publish log files to the configured bus. */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createLogger, MetricsRegistry } from "../../connectors/context.ts";
import { buses, createBus } from "../../connectors/registry.ts";
import { sumMetric } from "../api/status.ts";
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import { Publisher } from "../ingest/publisher.ts";
import { createReplaySource } from "../ingest/sources/replay.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, EXIT } from "./io.ts";
import { Progress, type ProgressStream } from "./progress.ts";

const HELP = `Usage: logbench replay FILE… [--format F] [--speed N] [--name NAME] [--config FILE] [--resume]

Publishes log files to the bus of the config (default config/local.yaml): events to the topic, unparseable
lines to dead letters. The daemon's archive and aggregate groups pick them up like any source.

  --format F     clf | combined | nginx | json | an Apache LogFormat string (default combined)
  --speed N      0 = as fast as possible (default); N = N times the pace of the lines' own timestamps
  --name NAME    source name stored in each event (default "replay")
  --resume       remember the position in the config's stateDir, so a second run continues instead of repeating
  --quiet        no progress line on standard error (it is shown only on a terminal anyway)
`;

export async function replayCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    {
      format: { type: "string", default: "combined" },
      speed: { type: "string", default: "0" },
      name: { type: "string", default: "replay" },
      config: { type: "string" },
      resume: { type: "boolean" },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0) {
    io.stderr.write(`logbench replay: name at least one log file\n\n${HELP}`);
    return EXIT.usage;
  }
  const speed = Number(values.speed);
  if (!Number.isFinite(speed) || speed < 0) {
    io.stderr.write(`logbench replay: --speed: expected a number ≥ 0, got "${values.speed}"\n`);
    return EXIT.usage;
  }
  const files = positionals.map((f) => resolve(io.cwd, f));
  let totalBytes = 0;
  for (const f of files) totalBytes += (await stat(f)).size;
  const config = await loadConfig(values.config ?? defaultConfigPath, io.env);
  const metrics = new MetricsRegistry();
  const logger = createLogger({ level: "warn", write: (l) => io.stderr.write(l) });
  const ctx = { logger, metrics, signal: io.signal };
  const bus = await createBus(config.bus, ctx);
  const stateDir = values.resume ? config.stateDir : await mkdtemp(join(tmpdir(), "logbench-replay-"));
  const started = Date.now();
  const progress = new Progress({
    stream: io.stderr as ProgressStream,
    quiet: values.quiet,
    total: { bytes: totalBytes },
  });
  const state = () => ({
    lines:
      sumMetric(metrics, "logbench_ingest_events_total") + sumMetric(metrics, "logbench_ingest_dead_letters_total"),
    bytes: sumMetric(metrics, "logbench_ingest_read_bytes_total"),
  });
  const ticker = progress.enabled ? setInterval(() => progress.update(state()), 250) : undefined;
  try {
    const publisher = new Publisher(bus, { events: config.topic, deadLetters: config.deadLetters.topic }, ctx);
    const source = createReplaySource(
      {
        type: "replay",
        name: values.name,
        files,
        format: values.format,
        speed,
        batchLines: 5000,
      },
      { publisher, stateDir, parse: config.parse, ctx },
    );
    await source.run();
  } finally {
    clearInterval(ticker);
    progress.finish(state());
    await bus.close();
    if (!values.resume) await rm(stateDir, { recursive: true, force: true });
  }
  const events = sumMetric(metrics, "logbench_ingest_events_total");
  const dead = sumMetric(metrics, "logbench_ingest_dead_letters_total");
  io.stderr.write(
    `Replayed ${positionals.length} file(s) to ${buses.describe(config.bus)} topic ${config.topic}: ` +
      `${events} events, ${dead} dead letters in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return io.signal.aborted ? EXIT.failure : EXIT.ok;
}
