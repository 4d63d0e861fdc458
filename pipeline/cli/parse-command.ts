/**
 * `logbench parse --format F [--dead-letters FILE] [INPUT…]`: log lines in, one LogEvent JSON per line
 * out, dead letters aside, and a one-line summary on stderr (issue 4 §4).
 */
import { Buffer } from "node:buffer";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { addAbortSignal, type Readable, type Writable } from "node:stream";
import { isLogbenchError } from "../../connectors/errors.ts";
import { readLines } from "../ingest/lines.ts";
import { encodedBound, encodeEvent } from "../ingest/parse/event-json.ts";
import {
  createParser,
  FORMAT_NAMES,
  JSON_FIELDS,
  type JsonField,
  type JsonMapping,
  type LineParser,
  parseLine,
  toDeadLetter,
} from "../ingest/parse/index.ts";
import type { LogEvent } from "../model/log-event.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, type Command, EXIT } from "./io.ts";
import { ParsePool, parseFileParallel, parseStreamParallel } from "./parse-parallel.ts";

const HELP = `Usage: logbench parse --format F [--dead-letters FILE] [options] [INPUT…]

Reads log lines from each INPUT file (standard input when there is none, or for "-") and writes one
LogEvent JSON object per line to standard output. A line that does not parse is never dropped: it becomes
a dead letter (JSON with the raw bytes, file, line number, byte offset and the reason) in FILE, or on
standard error without --dead-letters. A summary line (lines, events, dead letters, lines/s) ends on
standard error.

  --format F            ${FORMAT_NAMES.join(" | ")}, or your own format:
                        an Apache LogFormat string    '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D'
                        an nginx log_format string    '$remote_addr - $remote_user [$time_local] "$request" …'
                        (clf = common = '%h %l %u %t "%r" %>s %b'; combined adds referrer and user agent)
  --dead-letters FILE   write dead letters to FILE (created or truncated) instead of standard error
  --source NAME         the "source" stored in each event (default "cli")
  --keep-raw            add the original line to each event as "raw"
  --max-line-bytes N    longer lines become dead letters, read without holding them (default 65536)
  --threads N           parse on N worker threads, output in input order (default 1); "auto" is one
                        per core, at most 4, for input files of 8 MB or more. Faster only with idle
                        cores: on a busy 2-core machine, 2 threads were slower than 1

JSON lines (--format json):
  --json-time PATH      field with the event time (default: time, timestamp, @timestamp, ts, …);
                        "none" when records have no time (the parse time is used)
  --json-time-format F  auto (default) | iso8601 | clf | epoch_s | epoch_ms | epoch_us | epoch_ns |
                        a strftime pattern such as '%Y-%m-%d %H:%M:%S %z'
  --json-field F=PATH   take LogEvent field F from PATH (dots walk into objects); repeatable.
                        F is one of ${JSON_FIELDS.join(", ")}

Examples:
  logbench parse --format clf data/samples/nasa-jul95-first1000.log > events.ndjson
  logbench parse --format combined --dead-letters dead.ndjson access.log.1 access.log
  tail -f access.log | logbench parse --format '%h %l %u %t "%r" %>s %b %D'
  logbench parse --format json --json-time ts --json-time-format epoch_s --json-field host=client.ip api.ndjson

Exit status: 0 when every input was read (dead letters included), 1 when an input cannot be read,
2 for bad usage (unknown option, unknown or invalid format).
`;

interface Totals {
  lines: number;
  events: number;
  dead: number;
}

/** Writes and waits when the stream asks for it, so a slow reader of stdout slows the parsing. */
async function write(out: Writable, chunk: Uint8Array): Promise<void> {
  if (chunk.length === 0 || out.destroyed) return;
  if (!out.write(chunk)) {
    await new Promise<void>((done) => {
      const finish = () => {
        out.off("drain", finish);
        out.off("close", finish);
        out.off("error", finish);
        done();
      };
      out.on("drain", finish).on("close", finish).on("error", finish);
    });
  }
}

const OUT_BYTES = 1 << 21;

/**
 * Output lines gathered as UTF-8 in one large buffer and written when it fills or a batch ends.
 * Concatenating a batch into one string cost three times the parsing: a string of a megabyte or more
 * lands in V8's large-object space and is flattened, then encoded, then dropped for every write.
 */
class LineBuffer {
  private buf = Buffer.allocUnsafeSlow(OUT_BYTES);
  private at = 0;
  constructor(private readonly out: Writable) {}

  /** Room for `bytes` more; false when the buffer holds lines and must be flushed first. */
  private room(bytes: number): boolean {
    if (this.at + bytes <= this.buf.length) return true;
    if (this.at > 0) return false;
    // One line longer than the buffer: a buffer of its own.
    this.buf = Buffer.allocUnsafeSlow(bytes);
    return true;
  }

  /** Adds the event's JSON and a newline; false when it did not fit (flush, then push again). */
  pushEvent(e: LogEvent): boolean {
    if (!this.room(encodedBound(e) + 1)) return false;
    this.at = encodeEvent(e, this.buf, this.at);
    this.buf[this.at++] = 10;
    return true;
  }

  /** Adds `text` and a newline; false when it did not fit. */
  pushText(text: string): boolean {
    if (!this.room(text.length * 3 + 1)) return false;
    this.at += this.buf.write(text, this.at, "utf8");
    this.buf[this.at++] = 10;
    return true;
  }

  async flush(): Promise<void> {
    if (this.at === 0) return;
    const full = this.buf.subarray(0, this.at);
    // The stream may hold the written buffer until the reader takes it: the next lines go to a new one.
    this.buf = Buffer.allocUnsafeSlow(OUT_BYTES);
    this.at = 0;
    await write(this.out, full);
  }
}

function jsonMapping(values: {
  "json-time"?: string;
  "json-time-format"?: string;
  "json-field"?: string[];
}): JsonMapping {
  const mapping: JsonMapping = {};
  const time = values["json-time"];
  if (time !== undefined) mapping.time = time === "none" ? null : time;
  if (values["json-time-format"] !== undefined) mapping.timeFormat = values["json-time-format"];
  for (const spec of values["json-field"] ?? []) {
    const eq = spec.indexOf("=");
    const name = spec.slice(0, eq);
    if (eq <= 0 || eq === spec.length - 1 || !(JSON_FIELDS as readonly string[]).includes(name)) {
      throw new Error(`--json-field: expected F=PATH with F one of ${JSON_FIELDS.join(", ")}, got "${spec}"`);
    }
    mapping.fields = { ...mapping.fields, [name as JsonField]: spec.slice(eq + 1) };
  }
  return mapping;
}

async function parseStream(
  input: Readable,
  file: string,
  parser: LineParser,
  opts: { source: string; maxLineBytes: number; stdout: LineBuffer; dead: LineBuffer; stdoutGone: () => boolean },
  totals: Totals,
): Promise<void> {
  const { stdout, dead, source } = opts;
  for await (const batch of readLines(input as AsyncIterable<Uint8Array>, { maxLineBytes: opts.maxLineBytes })) {
    for (const line of batch) {
      const outcome = parseLine(parser, line, source);
      if (outcome.ok) {
        // Synchronous; only a full buffer waits for the stream.
        if (!stdout.pushEvent(outcome.event)) {
          await stdout.flush();
          stdout.pushEvent(outcome.event);
        }
        totals.events++;
      } else {
        const letter = JSON.stringify(toDeadLetter(line, outcome.reason, source, file));
        if (!dead.pushText(letter)) {
          await dead.flush();
          dead.pushText(letter);
        }
        totals.dead++;
      }
    }
    totals.lines += batch.length;
    await stdout.flush();
    await dead.flush();
    // Downstream went away (`| head`): stop reading, nobody wants the rest.
    if (opts.stdoutGone()) return;
  }
}

export const parseCommand: Command = async (args: string[], io: CliIo): Promise<number> => {
  let values: ReturnType<typeof readOptions>["values"];
  let positionals: string[];
  let parser: LineParser;
  let maxLineBytes: number;
  try {
    ({ values, positionals } = readOptions(args));
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (values.format === undefined) {
      throw new Error(`--format is required: ${FORMAT_NAMES.join(", ")}, or a LogFormat string`);
    }
    maxLineBytes = Number(values["max-line-bytes"]);
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new Error(`--max-line-bytes: expected a whole number of bytes ≥ 1, got "${values["max-line-bytes"]}"`);
    }
    const isJson = values.format.trim().toLowerCase() === "json";
    const jsonOptions = values["json-time"] ?? values["json-time-format"] ?? values["json-field"];
    if (!isJson && jsonOptions !== undefined) throw new Error("--json-* options apply to --format json only");
    parser = createParser(values.format, {
      keepRaw: values["keep-raw"],
      json: isJson ? jsonMapping(values) : undefined,
    });
  } catch (err) {
    const message = isLogbenchError(err) || err instanceof Error ? err.message : String(err);
    io.stderr.write(`logbench parse: ${message}\n(logbench parse --help shows the options)\n`);
    return EXIT.usage;
  }

  const inputs = positionals.length === 0 ? ["-"] : positionals;
  let threads: number;
  try {
    threads = threadCount(values.threads, inputs, io.cwd);
  } catch (err) {
    io.stderr.write(`logbench parse: ${(err as Error).message}\n(logbench parse --help shows the options)\n`);
    return EXIT.usage;
  }
  const deadOut: Writable = values["dead-letters"]
    ? createWriteStream(resolve(io.cwd, values["dead-letters"]))
    : io.stderr;
  // EPIPE on stdout means the reader is gone; stop quietly instead of crashing.
  const onStdoutError = () => io.stdout.destroy();
  io.stdout.on("error", onStdoutError);
  const totals: Totals = { lines: 0, events: 0, dead: 0 };
  const stdout = new LineBuffer(io.stdout);
  const dead = new LineBuffer(deadOut);
  const started = performance.now();
  let status: number = EXIT.ok;
  let note = "";
  const pool =
    threads > 1
      ? new ParsePool(threads, {
          format: values.format!,
          keepRaw: values["keep-raw"],
          json: values.format!.trim().toLowerCase() === "json" ? jsonMapping(values) : undefined,
          source: values.source,
          maxLineBytes,
        })
      : null;
  try {
    for (const name of inputs) {
      const path = name === "-" ? null : resolve(io.cwd, name);
      // With workers, a regular file is read by the workers themselves, in ranges.
      const stat = pool === null || path === null ? null : statSync(path, { throwIfNoEntry: false });
      const ranges = path !== null && stat?.isFile() === true;
      const stream = ranges ? null : path === null ? io.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
      const file = name === "-" ? "stdin" : name;
      if (stream) addAbortSignal(io.signal, stream);
      try {
        const stdoutGone = () => io.stdout.destroyed || io.signal.aborted;
        if (pool === null) {
          await parseStream(
            stream!,
            file,
            parser,
            { source: values.source, maxLineBytes, stdout, dead, stdoutGone },
            totals,
          );
        } else {
          const parallel = {
            pool,
            parser,
            file,
            source: values.source,
            maxLineBytes,
            inFlight: threads * 2,
            // Smaller pieces put more piece boundaries into a test's input.
            pieceBytes: Number(io.env.LOGBENCH_PARSE_PIECE_BYTES) || undefined,
            stop: stdoutGone,
            write: async (
              events: Uint8Array,
              deadText: string,
              r: { lines: number; eventCount: number; dead: unknown[] },
            ) => {
              await write(io.stdout, events);
              if (deadText !== "") await write(deadOut, Buffer.from(deadText));
              totals.lines += r.lines;
              totals.events += r.eventCount;
              totals.dead += r.dead.length;
            },
          };
          if (ranges) await parseFileParallel(path, stat!.size, parallel);
          else await parseStreamParallel(stream as AsyncIterable<Uint8Array>, parallel);
        }
      } catch (err) {
        if (io.signal.aborted) {
          note = " (interrupted)";
          status = EXIT.failure;
          break;
        }
        io.stderr.write(`logbench parse: reading ${file}: ${(err as Error).message}\n`);
        status = EXIT.failure;
      }
      if (io.signal.aborted) {
        note = " (interrupted)";
        status = EXIT.failure;
        break;
      }
      if (io.stdout.destroyed) break;
    }
  } finally {
    await pool?.close();
    io.stdout.off("error", onStdoutError);
    if (deadOut !== io.stderr) await new Promise<void>((done) => deadOut.end(done));
  }
  const seconds = (performance.now() - started) / 1000;
  const rate = Math.round(totals.lines / Math.max(seconds, 1e-6));
  const n = (v: number) => v.toLocaleString("en-US");
  io.stderr.write(
    `logbench parse: ${n(totals.lines)} lines, ${n(totals.events)} events, ${n(totals.dead)} dead letter${totals.dead === 1 ? "" : "s"}` +
      ` in ${seconds.toFixed(2)} s (${n(rate)} lines/s)${note}\n`,
  );
  return status;
};

function readOptions(args: string[]) {
  return parseOptions(
    args,
    {
      format: { type: "string", short: "f" },
      "dead-letters": { type: "string" },
      source: { type: "string", default: "cli" },
      "keep-raw": { type: "boolean", default: false },
      "max-line-bytes": { type: "string", default: "65536" },
      threads: { type: "string", default: "1" },
      "json-time": { type: "string" },
      "json-time-format": { type: "string" },
      "json-field": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
}

/** Files of 8 MB or more in all are worth the workers' start (about 50 ms each). */
const PARALLEL_BYTES = 8 << 20;

/** --threads: a whole number ≥ 1, or "auto" (one per core up to 4, for large files only). */
function threadCount(value: string, inputs: string[], cwd: string): number {
  if (value !== "auto") {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new Error(`--threads: expected "auto" or a whole number from 1 to 64, got "${value}"`);
    }
    return n;
  }
  if (inputs.includes("-")) return 1;
  let bytes = 0;
  for (const name of inputs) {
    try {
      bytes += statSync(resolve(cwd, name)).size;
    } catch {
      // Reading it reports the error.
    }
  }
  return bytes >= PARALLEL_BYTES ? Math.min(availableParallelism(), 4) : 1;
}
