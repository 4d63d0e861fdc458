/**
 * The pipeline daemon: sources → bus → archive and aggregate consumer groups, plus the HTTP API.
 * Shutdown (signal abort): sources stop at a batch boundary, then both stages roll/flush what they hold and
 * commit, then the API and connectors close. A stage that fails ends the daemon (a supervisor restarts it;
 * nothing is lost because nothing uncommitted is trusted).
 */
import { join } from "node:path";
import type { Logger } from "../connectors/context.ts";
import { MetricsRegistry } from "../connectors/context.ts";
import { createArchiveStore, createBus, createSeriesStore } from "../connectors/registry.ts";
import { RecordsStage } from "./aggregate/records-stage.ts";
import { AggregateStage } from "./aggregate/stage.ts";
import { AlertEngine } from "./alerts/engine.ts";
import { type ApiServer, startApi } from "./api/server.ts";
import { consumerLag } from "./api/status.ts";
import { RECORDS_FORMAT } from "./archive/formats.ts";
import { ArchiveStage } from "./archive/stage.ts";
import type { Config } from "./config/schema.ts";
import { Publisher } from "./ingest/publisher.ts";
import { createSource, recordStreams } from "./ingest/registry.ts";
import type { Source } from "./ingest/source.ts";
import { recordsGroup } from "./model/record.ts";
import { BusLosses } from "./observe/bus-losses.ts";
import { DrainReport } from "./observe/drain-report.ts";

/** How often a drain that has not finished says what it still waits for. */
const DRAIN_REPORT_MS = 10_000;

export interface DaemonHandle {
  /** API base URL, when the API is enabled. */
  apiUrl: string | null;
  metrics: MetricsRegistry;
  /** Settles when the daemon has stopped: resolves after a clean drain, rejects when a stage failed. */
  done: Promise<void>;
  /** How many configured sources end by themselves (replays). */
  finiteSources: number;
  /** Resolves once every finite source (a replay) has finished (spool folders are watched until shutdown). */
  replaysDone: Promise<void>;
}

export async function startDaemon(
  config: Config,
  options: { logger: Logger; signal: AbortSignal },
): Promise<DaemonHandle> {
  const { logger } = options;
  const metrics = new MetricsRegistry();
  // Sources stop on the outer signal or when a stage fails; stages drain after sources stopped.
  const stop = new AbortController();
  options.signal.addEventListener("abort", () => stop.abort(), { once: true });
  const ctx = { logger, metrics, signal: stop.signal };

  const [bus, archive, series] = await Promise.all([
    createBus(config.bus, ctx),
    createArchiveStore(config.archive, ctx),
    createSeriesStore(config.series, ctx),
  ]);
  const topics = { events: config.topic, deadLetters: config.deadLetters.topic };
  const losses = new BusLosses(ctx);
  const problems: string[] = [];
  let failure: unknown = null;
  /** A stage failed for good: say so once, then drain and stop (a supervisor restarts the daemon). */
  const fail = (stage: string, err: unknown) => {
    if (failure !== null) return;
    failure = err;
    problems.push(`${stage}: ${(err as Error).message}`);
    logger.error(`The ${stage} stage stopped on an error; the daemon shuts down.`, { err });
    stop.abort();
  };

  const archiver = config.archiver.enabled
    ? new ArchiveStage({
        bus,
        store: archive,
        topic: config.topic,
        deadLetterTopic: config.deadLetters.topic,
        config: config.archiver,
        scratchDir: join(config.stateDir, "tmp"),
        ctx,
        losses,
        onFatal: (err) => fail("archive", err),
      })
    : null;
  const aggregator = config.aggregator.enabled
    ? new AggregateStage({
        bus,
        series,
        topic: config.topic,
        config: config.aggregator,
        ctx,
        losses,
        onFatal: (err) => fail("aggregate", err),
      })
    : null;
  // A polling source's records topic gets its own archive stage instance and records stage (one group per topic).
  const streams = recordStreams(config.sources, config.topic);
  const recordArchivers = config.archiver.enabled
    ? streams.map(
        (stream) =>
          new ArchiveStage({
            bus,
            store: archive,
            topic: stream.topic,
            format: RECORDS_FORMAT,
            deadLetterTopic: config.deadLetters.topic,
            config: { ...config.archiver, group: recordsGroup(config.archiver.group, stream.topic) },
            scratchDir: join(config.stateDir, "tmp"),
            ctx,
            losses,
            onFatal: (err) => fail("archive", err),
          }),
      )
    : [];
  const recordWriters = config.aggregator.enabled
    ? streams.map(
        (stream) =>
          new RecordsStage({
            bus,
            series,
            stream,
            group: config.aggregator.group,
            deadLetterTopic: config.deadLetters.topic,
            ctx,
            losses,
          }),
      )
    : [];
  const stages: Array<[string, { start(): Promise<{ done: Promise<void> }> } | null]> = [
    ["archive", archiver],
    ["aggregate", aggregator],
    ...recordArchivers.map((s): [string, ArchiveStage] => ["archive", s]),
    ...recordWriters.map((s): [string, RecordsStage] => ["aggregate", s]),
  ];
  // A start that fails part-way must not leave the stages that did start consuming: stop them, close, rethrow.
  const undoStart = async (err: unknown): Promise<never> => {
    await Promise.allSettled(stages.map(([, stage]) => (stage as { stop?(): Promise<void> } | null)?.stop?.()));
    await Promise.allSettled([bus.close(), archive.close(), series.close()]);
    throw err;
  };
  const startedStages = await Promise.allSettled(stages.map(([, stage]) => stage?.start()));
  const refused = startedStages.find((r) => r.status === "rejected");
  if (refused) await undoStart(refused.reason);
  const subscriptions = startedStages.map((r) => (r.status === "fulfilled" ? r.value : undefined));
  subscriptions.forEach((sub, i) => {
    sub?.done.catch((err) => fail(stages[i]![0], err));
  });

  let api: ApiServer | null = null;
  // Alerts (pipeline/alerts): window rules on every aggregate flush, metric rules on a timer.
  const groups = [config.archiver.group, config.aggregator.group];
  const alerts = config.alerts.rules.length
    ? new AlertEngine({
        config: config.alerts,
        stateDir: config.stateDir,
        ctx,
        metrics,
        lag: () => consumerLag(bus, config.topic, groups),
        externalURL: () => api?.url ?? "",
      })
    : null;
  await alerts?.start();
  if (alerts) aggregator?.onFlush((windows) => alerts.onWindows(windows));

  if (config.api.enabled) {
    api = await startApi({
      host: config.api.host,
      port: config.api.port,
      token: config.api.token,
      bus,
      topics,
      groups: [config.archiver.group, config.aggregator.group],
      archive,
      metrics,
      logger,
      windows: () => aggregator?.windows() ?? [],
      onWindows: (l) => aggregator?.onWindows(l) ?? (() => {}),
      health: () => {
        const all = [...problems, ...losses.problems()];
        return { ok: all.length === 0, problems: all };
      },
      alerts: () => alerts?.firing() ?? [],
    }).catch(undoStart);
    logger.info("API listening.", { url: api.url });
  }

  const publisher = new Publisher(bus, topics, ctx);
  const runtime = {
    publisher,
    stateDir: config.stateDir,
    parse: config.parse,
    ctx,
    ...(api ? { http: api.ingest } : {}),
  };
  /** What the drain still waits for: a stop that takes long names it (see `done`). */
  const drain = new DrainReport(logger, DRAIN_REPORT_MS);
  const step = drain.step.bind(drain);
  /** Stages first (they roll and flush what they hold), then the API, then the connectors. */
  const closeAll = async () => {
    await Promise.allSettled([
      step("archive stage", archiver?.stop()),
      step("aggregate stage", aggregator?.stop()),
      ...recordArchivers.map((s, i) => step(`record archive stage ${i + 1}`, s.stop())),
      ...recordWriters.map((s, i) => step(`record series stage ${i + 1}`, s.stop())),
      step("alerts", alerts?.stop()),
    ]);
    await step("API", api?.close());
    await Promise.allSettled([
      step("bus", bus.close()),
      step("archive store", archive.close()),
      step("series store", series.close()),
    ]);
  };
  let started: Source[];
  try {
    started = config.sources.map((sc) => createSource(sc, runtime));
  } catch (err) {
    // A source the config cannot build (a bad format, an http source without the API): close what was
    // started, or the open subscriptions keep the process alive after the error is printed.
    stop.abort();
    await closeAll();
    throw err;
  }
  const runs = started.map((source) =>
    source.run().catch((err) => {
      problems.push(`source ${source.name}: ${(err as Error).message}`);
      logger.error("A source stopped on an error; its position is kept for the next start.", {
        source: source.name,
        err,
      });
    }),
  );
  const sourcesDone = Promise.all(runs).then(() => undefined);
  const replaysDone = Promise.all(runs.filter((_, i) => started[i]!.finite)).then(() => undefined);

  const done = (async () => {
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    logger.info("Draining: sources stop, stages write what they hold.");
    await drain.report(async () => {
      await step("sources", sourcesDone);
      await closeAll();
    });
    if (failure) throw failure;
    logger.info("Stopped cleanly.");
  })();

  const finiteSources = started.filter((s) => s.finite).length;
  return { apiUrl: api?.url ?? null, metrics, done, replaysDone, finiteSources };
}
