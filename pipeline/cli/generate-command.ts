/**
 * `logbench generate [--format F] [--rate N] [--count M] [--seed S] [--start T]`: synthetic access-log lines on
 * stdout, the same generator the `generator` source runs. Reproducible: line i's time is start + i/rate, and
 * --start has a fixed default, so the same options print the same bytes.
 */
import type { Writable } from "node:stream";
import { sleepOrAbort as sleep } from "../../connectors/retry.ts";
import { UNPACED_EVENT_RATE } from "../ingest/sources/generator.ts";
import { SYNTH_FORMATS, SyntheticLog } from "../ingest/synth/access-log.ts";
import { batchSizeFor, burstFor, scheduledTime, TokenBucket } from "../ingest/synth/pacer.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, type Command, EXIT } from "./io.ts";
import { Progress, type ProgressStream } from "./progress.ts";

/** --start when none is given: a fixed time, so two runs print the same lines. */
export const DEFAULT_START = "2024-01-01T00:00:00Z";

const HELP = `Usage: logbench generate [--format F] [--rate N] [--count M] [--seed S] [--start T] [--quiet]

Writes synthetic web-server access-log lines to standard output: Zipf-distributed paths over a site map (pages,
images, css/js, query strings), a status mix with 301/304/404 and 5xx, repeat clients (IPv4 and host names),
real-looking user agents (browsers, crawlers) and referrers (search engines, internal pages, "-").

  --format F   ${Object.keys(SYNTH_FORMATS).join(" | ")} (default combined; nginx writes the same text as combined)
  --rate N     lines per second (default: as fast as possible)
  --count M    stop after M lines (default: until interrupted)
  --seed S     PRNG seed, an integer (default 1): the same options give byte-identical lines
  --start T    event time of the first line, ISO 8601 or "now" (default ${DEFAULT_START});
               line i is at T + i/N seconds (${UNPACED_EVENT_RATE} lines per second of event time without --rate)
  --quiet      no progress line on standard error (it is shown only on a terminal anyway)

Examples:
  logbench generate --count 1000 --seed 42 | logbench parse --format combined > events.ndjson
  logbench generate --format clf --rate 500 --start now > live.log
`;

function number(
  name: string,
  text: string | undefined,
  check: (v: number) => boolean,
  want: string,
): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || !check(v))
    throw new Error(`--${name}: expected ${want}, got "${text}"`);
  return v;
}

export const generateCommand: Command = async (args: string[], io: CliIo): Promise<number> => {
  let log: SyntheticLog;
  let rate: number | undefined;
  let count: number | undefined;
  let start: number;
  let quiet: boolean;
  try {
    const { values } = parseOptions(args, {
      format: { type: "string", short: "f", default: "combined" },
      rate: { type: "string" },
      count: { type: "string" },
      seed: { type: "string", default: "1" },
      start: { type: "string", default: DEFAULT_START },
      quiet: { type: "boolean", short: "q", default: false },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    rate = number("rate", values.rate, (v) => v > 0, "a number of lines per second > 0");
    count = number("count", values.count, (v) => Number.isInteger(v) && v >= 0, "a whole number ≥ 0");
    const seed = number("seed", values.seed, Number.isSafeInteger, "an integer") ?? 1;
    start = values.start === "now" ? Date.now() : Date.parse(values.start);
    if (!Number.isFinite(start)) throw new Error(`--start: expected an ISO 8601 time or "now", got "${values.start}"`);
    log = new SyntheticLog({ seed, format: values.format });
    quiet = values.quiet;
  } catch (err) {
    io.stderr.write(`logbench generate: ${(err as Error).message}\n(logbench generate --help shows the options)\n`);
    return EXIT.usage;
  }

  const out = io.stdout;
  // EPIPE (`| head`): the reader is gone, which is how a pipeline says "enough"; stop and exit 0. A flag, not
  // out.destroyed: process.stdout ignores destroy().
  let gone = false;
  const onError = () => {
    gone = true;
  };
  out.on("error", onError);
  const progress = new Progress({
    stream: io.stderr as ProgressStream,
    quiet: quiet || count === undefined,
    ...(count !== undefined ? { total: { lines: count } } : {}),
  });
  const eventRate = rate ?? UNPACED_EVENT_RATE;
  const batch = batchSizeFor(rate ?? 0, 2000);
  const bucket = rate
    ? new TokenBucket(rate, burstFor(rate, batch), {
        now: () => performance.now(),
        sleep: (ms) => sleep(ms, io.signal),
      })
    : null;
  const stopped = () => io.signal.aborted || gone || out.destroyed;
  let lines = 0;
  let bytes = 0;
  try {
    while (!stopped() && (count === undefined || lines < count)) {
      const n = count === undefined ? batch : Math.min(batch, count - lines);
      if (bucket && !(await bucket.take(n, stopped))) break;
      let text = "";
      for (let i = lines; i < lines + n; i++) text += `${log.line(i, scheduledTime(start, eventRate, i))}\n`;
      if (!(await write(out, text)) || gone) break;
      // Writes to a pipe or file may complete synchronously; yield so EPIPE and signals get through.
      await new Promise<void>((done) => setImmediate(done));
      lines += n;
      bytes += Buffer.byteLength(text);
      progress.update({ lines, bytes });
    }
  } finally {
    out.off("error", onError);
  }
  progress.finish({ lines, bytes });
  return io.signal.aborted ? EXIT.failure : EXIT.ok;
};

/** Writes, then waits for "drain" when the stream's buffer is full; false once the stream is gone. */
function write(out: Writable, text: string): Promise<boolean> {
  if (out.destroyed) return Promise.resolve(false);
  if (out.write(text)) return Promise.resolve(true);
  return new Promise((done) => {
    const finish = () => {
      out.off("drain", finish).off("close", finish).off("error", finish);
      done(!out.destroyed);
    };
    out.on("drain", finish).on("close", finish).on("error", finish);
  });
}
