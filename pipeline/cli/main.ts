/**
 * CLI entry: `logbench <command> …`. The only place that touches process signals and exit codes:
 * 0 ok, 1 runtime failure, 2 bad usage or bad config.
 */
import { isLogbenchError } from "../../connectors/errors.ts";
import { useDaemonAllocator } from "./daemon-v8-flags.ts";
import { type CliIo, type Command, EXIT } from "./io.ts";

// Commands are loaded when run, so `logbench --help` does not load kafkajs, DuckDB and the parsers.
const lazy =
  <K extends string>(load: () => Promise<Record<K, Command>>, name: K): Command =>
  async (args, io) =>
    (await load())[name](args, io);

/** The daemon's commands, with its allocator settings in place before anything loads DuckDB. */
const daemonCommands = () => {
  useDaemonAllocator();
  return import("./daemon-command.ts");
};

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  start: {
    run: lazy(daemonCommands, "startCommand"),
    summary: "Embedded default: daemon on config/local.yaml + notebooks on localhost",
  },
  daemon: {
    run: lazy(daemonCommands, "daemonCommand"),
    summary: "Run the pipeline daemon headless (--config FILE)",
  },
  replay: {
    run: lazy(() => import("./replay-command.ts"), "replayCommand"),
    summary: "Publish a log file to the bus (--format, --speed)",
  },
  generate: {
    run: lazy(() => import("./generate-command.ts"), "generateCommand"),
    summary: "Synthetic access-log lines on stdout (--format, --rate, --count, --seed)",
  },
  query: {
    run: lazy(() => import("./query-command.ts"), "queryCommand"),
    summary: 'DuckDB SQL over events, dead_letters and the series ("select …")',
  },
  backfill: {
    run: lazy(() => import("./backfill-command.ts"), "backfillCommand"),
    summary: "Re-aggregate archived events of a time range into the series, or republish them (--from --to)",
  },
  report: {
    run: lazy(() => import("./report-command.ts"), "reportCommand"),
    summary: "GoAccess's panels over the archive (--from, --to, --format json|html|text)",
  },
  parse: {
    run: lazy(() => import("./parse-command.ts"), "parseCommand"),
    summary: "Parse log lines to LogEvent JSON, dead letters aside",
  },
  doctor: {
    run: lazy(() => import("./doctor-command.ts"), "doctorCommand"),
    summary: "Check that every configured server answers",
  },
  "deno-flags": {
    run: lazy(() => import("./deno-flags-command.ts"), "denoFlagsCommand"),
    summary: "Print the Deno permission flags a daemon on this config needs",
  },
  config: {
    run: lazy(() => import("./config-command.ts"), "configCommand"),
    summary: "Print the config's JSON Schema (schema) or check a config file (check)",
  },
};

export const USAGE = `logbench — web-server log analytics: ingest → bus → archive + windowed series, with notebooks

Usage: logbench <command> [options]      (logbench <command> --help for its options)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join("\n")}

Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.
Docs: README.md, docs/architecture.md, docs/api.md; config fields: logbench config schema, config/*.yaml`;

export async function main(argv: string[], io?: Partial<CliIo>): Promise<number> {
  const controller = new AbortController();
  const full: CliIo = {
    stdin: io?.stdin ?? process.stdin,
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    env: io?.env ?? process.env,
    cwd: io?.cwd ?? process.cwd(),
    signal: io?.signal ?? controller.signal,
  };
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    full.stdout.write(`${USAGE}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === "--version") {
    full.stdout.write("logbench 0.1.0\n");
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    full.stderr.write(`logbench: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const onSignal = () => controller.abort();
  if (!io?.signal) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  try {
    return await command.run(args, full);
  } catch (err) {
    if (isLogbenchError(err) && (err.code === "CONFIG" || err.code === "USAGE")) {
      full.stderr.write(`logbench ${name}: ${err.message}\n`);
      return EXIT.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    // Deno's permission errors ("Requires write access to …") name what is missing; say where the flags come from.
    const hint = /Requires \w+ access to/.test(message)
      ? "\n(under Deno, run with the flags that `logbench deno-flags --config FILE` prints for this config)"
      : "";
    full.stderr.write(`logbench ${name}: ${message}${hint}\n`);
    return EXIT.failure;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
