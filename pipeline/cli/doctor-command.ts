/** `logbench doctor --config FILE`: one line per configured server saying what works and what does not. */
import { duration } from "../../connectors/config-helpers.ts";
import { createLogger, MetricsRegistry } from "../../connectors/context.ts";
import { LogbenchError } from "../../connectors/errors.ts";
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

Reaches each server the config names (bus, archive, series store), each source folder or file and each alert
webhook, and prints one line per check: ok or FAIL with the reason. Exit 0 when all are ok, 1 otherwise, 2 for
a bad config.

  --timeout D   time allowed for each check (default 10s); a check that takes longer FAILs with "timed out"

Alert webhooks are sent an HTTP HEAD request, never an alert: any HTTP answer (even 404 or 405) means the
receiver is reachable; a refused connection or no answer in time is a FAIL.
`;

export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, {
    config: { type: "string" },
    timeout: { type: "string", default: "10s" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const timeout = duration("10s").safeParse(values.timeout);
  if (!timeout.success || timeout.data <= 0)
    throw new LogbenchError("USAGE", `--timeout: expected a duration like "10s", got "${values.timeout}"`);
  const timeoutMs = timeout.data;
  const config = await loadConfig(values.config ?? defaultConfigPath, io.env);
  // One signal per check: connectors abort their requests when it fires, so a hung server does not outlive it.
  let ctx = {
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
    ...config.alerts.webhooks.map((h): [string, () => Promise<string>] => [
      `webhook  ${new URL(h.url).origin}${new URL(h.url).pathname}`,
      () => checkWebhook(h.url, h.token, ctx.signal),
    ]),
  ];
  let failed = 0;
  for (const [label, check] of checks) {
    const controller = new AbortController();
    ctx = { ...ctx, signal: AbortSignal.any([io.signal, controller.signal]) };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`timed out after ${formatMs(timeoutMs)} (--timeout)`));
      }, timeoutMs);
    });
    try {
      io.stdout.write(`ok    ${label}: ${await Promise.race([check(), timedOut])}\n`);
    } catch (err) {
      failed++;
      io.stdout.write(`FAIL  ${label}: ${(err as Error).message}\n`);
    } finally {
      clearTimeout(timer);
    }
  }
  return failed ? EXIT.failure : EXIT.ok;
}

/** HEAD, not POST: any HTTP answer shows the receiver is there, and no alert is sent. */
async function checkWebhook(url: string, token: string | undefined, signal: AbortSignal): Promise<string> {
  const res = await fetch(url, {
    method: "HEAD",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal,
  }).catch((err: Error) => {
    throw new Error(`cannot reach it (${(err.cause as Error | undefined)?.message ?? err.message})`);
  });
  await res.body?.cancel();
  return `HEAD answered HTTP ${res.status}: reachable (no alert sent)`;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
