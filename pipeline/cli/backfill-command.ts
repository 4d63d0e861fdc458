/** `logbench backfill --from T --to T [--into series|bus] [--late] [--config FILE]` */
import type { SeriesPoint, SeriesStore } from "../../connectors/types.ts";
import { windowSpecs } from "../aggregate/window-spec.ts";
import { type BackfillProgress, type BackfillResult, backfillBus, backfillSeries } from "../backfill/backfill.ts";
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { MEASUREMENTS } from "../model/window.ts";
import { openArchive, openBus, openSeries, using } from "../readers/open.ts";
import { parseInstant, parseRange } from "../readers/time-range.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, commandContext, EXIT } from "./io.ts";
import { Progress, type ProgressStream } from "./progress.ts";

const HELP = `Usage: logbench backfill --from T --to T [--into series|bus] [--config FILE]
       logbench backfill --late [--from T --to T] [--config FILE]

Reads the archived Parquet (local or WebHDFS) of an event-time range, T an ISO date or time in UTC
(2015-05-17, 2015-05-17T10:00). The range is [from, to): --to 2015-05-21 stops before that day.

  --into series  (default) aggregate it into the series store with the daemon's window code, independent of
                 the live watermark (no event is late), overwriting those windows' points
  --into bus     publish its events onto the topic again (the daemon's groups then treat them as new)
  --late         repair exactly the windows the \`late\` view lists as incomplete (count > repaired), then mark
                 them repaired; --from/--to limit which
Check: logbench query "select * from late", logbench query "select time, sum(count) from requests group by 1"
`;

export async function backfillCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, {
    from: { type: "string" },
    to: { type: "string" },
    into: { type: "string", default: "series" },
    late: { type: "boolean" },
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (values.into !== "series" && values.into !== "bus") {
    io.stderr.write(`logbench backfill: --into: expected series or bus, got "${values.into}"\n`);
    return EXIT.usage;
  }
  if (values.late && values.into !== "series") {
    io.stderr.write("logbench backfill: --late repairs the series; it cannot go with --into bus\n");
    return EXIT.usage;
  }
  const range = values.late
    ? {
        from: values.from ? parseInstant(values.from, "--from") : Number.NEGATIVE_INFINITY,
        to: values.to ? parseInstant(values.to, "--to") : Number.POSITIVE_INFINITY,
      }
    : parseRange(values.from, values.to);
  const config = await loadConfig(values.config ?? defaultConfigPath, io.env);
  const ctx = commandContext(io);
  const progress = progressLine(io);
  const started = Date.now();
  const archive = await openArchive(config, ctx);
  let result: BackfillResult;
  let target: string;
  if (values.into === "bus") {
    const bus = await openBus(config, ctx);
    target = `${bus.label} topic ${config.topic}`;
    result = await using(archive, (store) =>
      using(bus, (b) =>
        backfillBus(
          config,
          ctx,
          store,
          (events) =>
            b.produce(
              config.topic,
              events.map((e) => ({ key: e.host, value: JSON.stringify(e) })),
            ),
          { ...range, onProgress: progress.update },
        ),
      ),
    );
  } else {
    const series = await openSeries(config, ctx);
    target = series.label;
    result = await using(archive, (store) =>
      using(series, (s) =>
        values.late
          ? repairLate(config, ctx, store, s, range, progress.update)
          : backfillSeries(config, ctx, store, s, { ...range, onProgress: progress.update }),
      ),
    );
  }
  progress.done();
  const what = values.into === "bus" ? "published" : `${result.windows} windows, ${result.points} points written`;
  io.stderr.write(
    `Backfilled from ${archive.label} into ${target}: ${result.files} file(s), ${result.events} events, ${what} ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return io.signal.aborted ? EXIT.failure : EXIT.ok;
}

/** Re-aggregates the windows the `late` measurement lists as not yet repaired, then marks them repaired. */
async function repairLate(
  config: Config,
  ctx: Parameters<typeof backfillSeries>[1],
  archive: Parameters<typeof backfillSeries>[2],
  series: SeriesStore,
  range: { from: number; to: number },
  onProgress: (p: BackfillProgress) => void,
): Promise<BackfillResult> {
  const sizes = new Map(windowSpecs(config.aggregator).map((s) => [s.label, s.size]));
  const late = (await series.query({ measurement: MEASUREMENTS.late })).filter(
    (p) =>
      p.time >= range.from &&
      p.time < range.to &&
      sizes.has(p.tags.window ?? "") &&
      Number(p.fields.count ?? 0) > Number(p.fields.repaired ?? 0),
  );
  const key = (window: string, source: string, partition: string, start: number) =>
    `${window}\u0000${source}\u0000${partition}\u0000${start}`;
  const wanted = new Set(late.map((p) => key(p.tags.window!, p.tags.source!, p.tags.partition!, p.time)));
  const total: BackfillResult = { files: 0, filesTotal: 0, events: 0, windows: 0, points: 0 };
  // Windows close together are repaired in one pass over their hours; far apart ones in passes of their own.
  const starts = [...late].sort((a, b) => a.time - b.time);
  let i = 0;
  while (i < starts.length) {
    const from = starts[i]!.time;
    let to = from + sizes.get(starts[i]!.tags.window!)!;
    while (i + 1 < starts.length && starts[i + 1]!.time <= to + 3_600_000) {
      i++;
      to = Math.max(to, starts[i]!.time + sizes.get(starts[i]!.tags.window!)!);
    }
    i++;
    const r = await backfillSeries(config, ctx, archive, series, {
      from,
      to,
      filter: (s, partition) => wanted.has(key(s.spec.label, s.source, String(partition), s.start)),
      onProgress,
    });
    for (const k of ["files", "filesTotal", "events", "windows", "points"] as const) total[k] += r[k];
  }
  const marks: SeriesPoint[] = late.map((p) => ({
    measurement: MEASUREMENTS.late,
    tags: p.tags,
    time: p.time,
    fields: { repaired: Number(p.fields.count) },
  }));
  if (marks.length) await series.write(marks);
  return total;
}

/** One progress line, rewritten in place on a terminal; nothing when stderr is not one (logs, CI). */
/** Backfill's progress on the shared throttled, TTY-only line (pipeline/cli/progress.ts). */
function progressLine(io: CliIo) {
  const line = new Progress({ stream: io.stderr as ProgressStream });
  return {
    update: (p: BackfillProgress) =>
      line.updateText(
        () =>
          `Backfill: file ${p.files}/${p.filesTotal}, ${p.events.toLocaleString("en")} events, ` +
          `${p.windows.toLocaleString("en")} windows`,
      ),
    done: () => line.end(),
  };
}
