/**
 * Synthetic traffic at a chosen rate (the seed project's third pipeline): realistic access-log lines from
 * pipeline/ingest/synth, parsed by the same parser a log file goes through, put on the bus in batches paced by a
 * token bucket. Without `start`, event times follow the wall clock (so live windows fill); with it, line i is at
 * start + i/rate, and the lines are byte-identical to `logbench generate` with the same seed, format and start.
 * The number of lines sent is saved after each acknowledged batch, so a restart continues the sequence and a
 * finished `count` is not repeated (a crash between the acknowledgement and the save repeats at most one batch).
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import { sleepOrAbort as sleep } from "../../../connectors/retry.ts";
import type { DeadLetter, LogEvent } from "../../model/log-event.ts";
import { createParser, toDeadLetter } from "../parse/index.ts";
import { type FilePosition, PositionStore } from "../positions.ts";
import { type Source, type SourceComponent, type SourceRuntime, sourceFields } from "../source.ts";
import { SYNTH_FORMATS, SyntheticLog } from "../synth/access-log.ts";
import { batchSizeFor, burstFor, scheduledTime, TokenBucket } from "../synth/pacer.ts";

/** Event-time spacing (lines per second) of a fixed-start schedule when no rate paces the run. */
export const UNPACED_EVENT_RATE = 100;

const isoTime = z
  .string()
  .refine((s) => Number.isFinite(Date.parse(s)), { message: 'expected an ISO 8601 time like "2024-01-01T00:00:00Z"' });

export const generatorSourceSchema = z
  .object({
    type: z.literal("generator"),
    name: sourceFields.name("generator"),
    format: z
      .enum(Object.keys(SYNTH_FORMATS) as [string, ...string[]])
      .default("combined")
      .describe("Log format of the generated lines (nginx writes the same text as combined)"),
    rate: z
      .number()
      .nonnegative()
      .default(100)
      .describe("Lines per second, held by a token bucket; 0 = as fast as the bus takes them"),
    seed: z.number().int().default(1).describe("PRNG seed: the same seed, format and start give the same lines"),
    count: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Lines to generate, then the source is finished; absent = until the daemon stops"),
    start: isoTime
      .optional()
      .describe(
        `Event time of the first line (ISO 8601); line i is at start + i/rate (rate 0: ${UNPACED_EVENT_RATE}/s). Absent = the wall clock`,
      ),
    batchLines: z.number().int().positive().default(1000).describe("Most lines per bus batch"),
  })
  .strict()
  .describe("Synthetic access-log traffic at a chosen rate (seeded, reproducible)");

export type GeneratorSourceConfig = z.infer<typeof generatorSourceSchema>;

export const generatorSource: SourceComponent<typeof generatorSourceSchema> = {
  type: "generator",
  schema: generatorSourceSchema,
  create: (config, rt) => createGeneratorSource(config, rt),
  addressField: "rate",
  describe: (c) =>
    `generator (${c.format}, ${c.rate > 0 ? `${c.rate} lines/s` : "unpaced"}, seed ${c.seed}${c.count ? `, ${c.count} lines` : ""})`,
  needs: () => ({}),
  async check(config) {
    new SyntheticLog({ seed: config.seed, format: config.format }).line(0, 0);
    return `generates ${config.format} lines at ${config.rate > 0 ? `${config.rate}/s` : "full speed"}`;
  },
};

export function createGeneratorSource(config: GeneratorSourceConfig, rt: SourceRuntime): Source {
  const log = new SyntheticLog({ seed: config.seed, format: config.format });
  const parser = createParser(config.format, { keepRaw: rt.parse.keepRaw });
  const positions = new PositionStore(rt.stateDir, config.name);
  // A changed seed or format is another sequence: it starts from line 0.
  const key = `generator:seed=${config.seed},format=${config.format}`;
  const start = config.start === undefined ? null : Date.parse(config.start);
  const eventRate = config.rate > 0 ? config.rate : UNPACED_EVENT_RATE;
  const batch = batchSizeFor(config.rate, config.batchLines);
  const { signal, metrics } = rt.ctx;
  metrics.describe("logbench_source_rate_target", "gauge", "Lines per second a paced source aims at");
  return {
    name: config.name,
    finite: config.count !== undefined,
    async run() {
      metrics.set("logbench_source_rate_target", { source: config.name }, config.rate);
      let pos: FilePosition = positions.get(key) ?? {
        dev: 0,
        ino: 0,
        offset: 0,
        line: 0,
        done: false,
        savedAt: Date.now(),
        marks: { events: {}, deadLetters: {} },
      };
      if (pos.done) return;
      const bucket =
        config.rate > 0
          ? new TokenBucket(config.rate, burstFor(config.rate, batch), {
              now: () => performance.now(),
              sleep: (ms) => sleep(ms, signal),
            })
          : null;
      const stopped = () => signal.aborted;
      while (!signal.aborted) {
        const n = config.count === undefined ? batch : Math.min(batch, config.count - pos.line);
        if (n <= 0) break;
        if (bucket && !(await bucket.take(n, stopped))) break;
        const now = Date.now();
        const events: LogEvent[] = [];
        const dead: DeadLetter[] = [];
        for (let i = pos.line; i < pos.line + n; i++) {
          const text = log.line(i, start === null ? now : scheduledTime(start, eventRate, i));
          const outcome = parser.parseText(text, config.name);
          if (outcome.ok) events.push(outcome.event);
          else dead.push(deadLetter(text, outcome.reason, config.name, i));
        }
        await rt.publisher.publish(config.name, events, dead);
        pos = { ...pos, offset: pos.line + n, line: pos.line + n, savedAt: Date.now() };
        positions.set(key, pos);
      }
      if (config.count !== undefined && pos.line >= config.count) positions.set(key, { ...pos, done: true });
    },
  };
}

/** A generated line that did not parse (a generator bug): kept like any other line, never dropped. */
function deadLetter(text: string, reason: string, source: string, index: number): DeadLetter {
  const bytes = Buffer.from(text);
  return toDeadLetter({ bytes, lineNo: index + 1, offset: 0, end: bytes.length, tooLong: false }, reason, source, null);
}
