/** `logbench doctor --config FILE`: one line per configured server saying what works and what does not. */
import { createLogger, MetricsRegistry } from "../../connectors/context.ts";
import {
  archives,
  buses,
  createArchiveStore,
  createBus,
  createSeriesStore,
  seriesStores,
} from "../../connectors/registry.ts";
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import { checkSource, sources } from "../ingest/registry.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, EXIT } from "./io.ts";

const HELP = `Usage: logbench doctor [--config FILE] [--timeout 10s]

Reaches each server the config names (bus, archive, series store) and each source folder or file, and prints
one line per check: ok or FAIL with the reason. Exit 0 when all are ok, 1 otherwise, 2 for a bad config.
`;

export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, { config: { type: "string" }, help: { type: "boolean", short: "h" } });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const config = await loadConfig(values.config ?? defaultConfigPath, io.env);
  const ctx = {
    logger: createLogger({ level: "error", write: () => {} }),
    metrics: new MetricsRegistry(),
    signal: io.signal,
  };
  const checks: Array<[string, () => Promise<string>]> = [
    [
      `bus      ${buses.describe(config.bus)}`,
      async () => {
        const bus = await createBus(config.bus, ctx);
        try {
          const parts = await bus.partitions(config.topic);
          return `topic ${config.topic}: ${parts.length} partitions, ${parts.reduce((s, p) => s + p.high - p.low, 0)} messages`;
        } finally {
          await bus.close();
        }
      },
    ],
    [
      `archive  ${archives.describe(config.archive)}`,
      async () => {
        const store = await createArchiveStore(config.archive, ctx);
        try {
          await store.mkdirs(config.topic);
          return `${config.topic}/ holds ${(await store.list(config.topic)).length} day folders`;
        } finally {
          await store.close();
        }
      },
    ],
    [
      `series   ${seriesStores.describe(config.series)}`,
      async () => {
        const series = await createSeriesStore(config.series, ctx);
        try {
          return `measurements: ${(await series.measurements()).join(", ") || "(none yet)"}`;
        } finally {
          await series.close();
        }
      },
    ],
    ...config.sources.map((s): [string, () => Promise<string>] => [
      `source   ${s.name}: ${sources.describe(s)}`,
      () => checkSource(s),
    ]),
  ];
  let failed = 0;
  for (const [label, check] of checks) {
    try {
      io.stdout.write(`ok    ${label}: ${await check()}\n`);
    } catch (err) {
      failed++;
      io.stdout.write(`FAIL  ${label}: ${(err as Error).message}\n`);
    }
  }
  return failed ? EXIT.failure : EXIT.ok;
}
