/** `logbench daemon` (headless) and `logbench start` (embedded default + notebooks). */
import { createLogger, type LogLevel } from "../../connectors/context.ts";
import { archives, buses, seriesStores } from "../../connectors/registry.ts";
import { sumMetric } from "../api/status.ts";
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import { startDaemon } from "../daemon.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, EXIT } from "./io.ts";

const DAEMON_HELP = `Usage: logbench daemon --config FILE [--log-level debug|info|warn|error]

Runs the pipeline headless: every source in the config → bus → archive and aggregate consumer groups,
plus the HTTP API (127.0.0.1:8787 by default: /healthz, /metrics, /api/windows, /api/status).
SIGTERM or Ctrl-C drains (sources stop, open files roll, windows flush, offsets commit) and exits 0.

  --config FILE     the daemon config (see config/example.distributed.yaml; embedded: config/local.yaml)
  --log-level L     default info; logs are JSON lines on stderr
`;

const START_HELP = `Usage: logbench start [--config FILE] [--no-notebooks] [--notebooks-port N]

The embedded default: no servers needed. Runs the daemon on config/local.yaml (a local file log as the bus,
a local folder as the archive, a DuckDB file as the series store) replaying the bundled sample logs, and serves
the notebooks on localhost. Ctrl-C drains and exits 0. Query what it wrote with: npx logbench query "…"
`;

export async function daemonCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, {
    config: { type: "string" },
    "log-level": { type: "string", default: "info" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(DAEMON_HELP);
    return EXIT.ok;
  }
  if (!values.config) {
    io.stderr.write(`logbench daemon: --config FILE is required\n\n${DAEMON_HELP}`);
    return EXIT.usage;
  }
  return run(values.config, values["log-level"] as LogLevel, io, false);
}

export async function startCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, {
    config: { type: "string" },
    "no-notebooks": { type: "boolean" },
    "notebooks-port": { type: "string", default: "3000" },
    "log-level": { type: "string", default: "warn" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(START_HELP);
    return EXIT.ok;
  }
  const notebooksPort = values["no-notebooks"] ? null : Number(values["notebooks-port"]);
  return run(values.config ?? defaultConfigPath, values["log-level"] as LogLevel, io, true, notebooksPort);
}

async function run(
  configPath: string,
  level: LogLevel,
  io: CliIo,
  friendly: boolean,
  notebooksPort: number | null = null,
): Promise<number> {
  const config = await loadConfig(configPath, io.env);
  const logger = createLogger({ level, write: (line) => io.stderr.write(line) });
  // A failed start throws to main(), which prints one line: exit 2 for a config error, 1 otherwise (with the
  // deno-flags hint for a Deno permission error).
  const daemon = await startDaemon(config, { logger, signal: io.signal });
  const say = (text: string) => friendly && io.stdout.write(`${text}\n`);
  say(`logbench is running (config ${configPath})`);
  say(`  bus      ${buses.describe(config.bus)}`);
  say(`  archive  ${archives.describe(config.archive)}`);
  say(`  series   ${seriesStores.describe(config.series)}`);
  if (daemon.apiUrl) say(`  api      ${daemon.apiUrl}  (/api/status, /api/windows, /metrics)`);
  let notebooks: Promise<void> | null = null;
  if (notebooksPort !== null) {
    const { serveNotebooks } = await import("../notebooks/serve.ts");
    const served = await serveNotebooks({ port: notebooksPort, configPath, env: io.env, signal: io.signal, logger });
    say(`  notebooks ${served.url}`);
    notebooks = served.done;
  }
  say("Ctrl-C drains and stops.");
  daemon.replaysDone.then(() => {
    const events = sumMetric(daemon.metrics, "logbench_ingest_events_total");
    const dead = sumMetric(daemon.metrics, "logbench_ingest_dead_letters_total");
    if (daemon.finiteSources > 0)
      say(`Replays done: ${events} events and ${dead} dead letters put on the bus by this run.`);
  });
  try {
    await daemon.done;
  } catch (err) {
    io.stderr.write(`logbench: the daemon stopped on an error: ${(err as Error).message}\n`);
    return EXIT.failure;
  }
  await notebooks?.catch(() => {});
  say("Stopped cleanly.");
  return EXIT.ok;
}
