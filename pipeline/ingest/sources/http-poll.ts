/**
 * Polls a JSON HTTP API every `interval` (the seed's population API): explodes the array at `explode`, drops
 * records whose key was put on the bus before (across polls and restarts), and puts each new record on the source's
 * records topic as `{source, key, ts, record}` (pipeline/model/record.ts). The archive stores them under that topic,
 * the records stage writes each as one point of `measurement`.
 *
 * Exactly once across kill -9, as file-ingest.ts does for files: the seen keys are saved with the records topic's
 * high watermarks after every acknowledged batch (dedupe.ts); on restart, what this source put on the topic past
 * the saved watermarks is read back and its keys count as seen. Failed polls are retried with backoff, honouring
 * Retry-After (pipeline/retry.ts); an answer that is not JSON, or not what `explode` expects, is a dead letter with
 * its HTTP status in the reason and its first KB as the raw bytes.
 */
import { z } from "zod";
import { hostOf } from "../../../connectors/component.ts";
import { duration, httpUrl, size } from "../../../connectors/config-helpers.ts";
import { sleepOrAbort as sleep } from "../../../connectors/retry.ts";
import type { DeadLetter } from "../../model/log-event.ts";
import { decodeRecord, type RecordMessage } from "../../model/record.ts";
import { MEASUREMENTS } from "../../model/window.ts";
import { retryWhileRunning } from "../../retry.ts";
import { DedupeStore } from "../dedupe.ts";
import { httpGet } from "../http-get.ts";
import { checkRecord, explode } from "../json-records.ts";
import { type Source, type SourceComponent, type SourceRuntime, sourceFields } from "../source.ts";

const BUILT_IN = new Set<string>(Object.values(MEASUREMENTS));

export const httpPollSourceSchema = z
  .object({
    type: z.literal("http-poll"),
    name: sourceFields.name("poll"),
    url: httpUrl().describe("JSON API polled with GET"),
    interval: duration("1s").default(1000).describe("Time from one poll's start to the next"),
    explode: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Dotted path of the records array in the answer ("data", "result.items"); absent = the answer is one record or an array of them',
      ),
    key: z
      .array(z.string().min(1))
      .min(1)
      .describe("Fields whose values identify a record; a record whose key was seen before is dropped"),
    measurement: z
      .string()
      .min(1)
      .refine((m) => !BUILT_IN.has(m), "is a measurement of the aggregate stage; choose another name")
      .describe("Each new record becomes one point of this measurement"),
    tags: z
      .array(z.string().min(1))
      .default([])
      .refine((t) => !t.includes("source"), "`source` is the tag every point gets already")
      .describe("Record fields that become tags (bounded values only: each distinct value is a series)"),
    fields: z.array(z.string().min(1)).min(1).describe("Record fields that become numeric point fields"),
    time: z
      .string()
      .min(1)
      .optional()
      .describe("Record field holding the point time (a number in timeUnit or an ISO 8601 string); absent = poll time"),
    timeUnit: z.enum(["ms", "s"]).default("ms").describe("Unit of a numeric time field"),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe("Request headers; put secrets in as ${ENV} or through headerFiles"),
    headerFiles: z
      .record(z.string(), z.string())
      .default({})
      .describe("Header name → file holding its value (a token), read at start"),
    timeout: duration("10s").default(10_000).describe("Longest wait for one answer"),
    maxBytes: size("16MB").default(16_000_000).describe("Longer answers are dead letters"),
    topic: z.string().min(1).optional().describe("Bus topic of this source's records; default <topic>.records.<name>"),
    dedupeMaxKeys: z
      .number()
      .int()
      .positive()
      .default(1_000_000)
      .describe("Keys remembered for de-duplication; past this the oldest are forgotten (and counted)"),
  })
  .strict()
  .describe("Polls a JSON HTTP API; each new record goes to its records topic, the archive and the series");

export type HttpPollSourceConfig = z.infer<typeof httpPollSourceSchema>;

/** The records topic of a source: its own `topic`, or `<events topic>.records.<name>`. */
export function recordsTopic(config: HttpPollSourceConfig, eventsTopic: string): string {
  return config.topic ?? `${eventsTopic}.records.${config.name}`;
}

/** The URL without its query (which may carry a key): what messages and dead letters name. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export const httpPollSource: SourceComponent<typeof httpPollSourceSchema> = {
  type: "http-poll",
  schema: httpPollSourceSchema,
  create: (config, rt) => createHttpPollSource(config, rt),
  addressField: "url",
  describe: (config) => `JSON API ${shown(config.url)} every ${config.interval} ms`,
  needs: (config) => ({ net: [hostOf(config.url)] }),
  resolvePaths: (config, paths) => {
    for (const [name, file] of Object.entries(config.headerFiles))
      config.headers[name] = paths.secret(paths.abs(file), `headerFiles.${name}`);
    config.headerFiles = {};
  },
  records: (config, eventsTopic) => ({
    source: config.name,
    topic: recordsTopic(config, eventsTopic),
    measurement: config.measurement,
    tags: config.tags,
    fields: config.fields,
  }),
  async check(config) {
    const answer = await httpGet(config.url, shown(config.url), {
      headers: config.headers,
      timeoutMs: config.timeout,
      maxBytes: config.maxBytes,
      signal: new AbortController().signal,
    });
    return `${shown(config.url)} answers HTTP ${answer?.status}, ${answer?.body.length} bytes`;
  },
};

/** Bytes of an answer kept in its dead letter. */
const DEAD_LETTER_BYTES = 1024;
/** How far back (ms) the recovery scan reaches before the last save, for clock steps. */
const RECOVERY_MARGIN_MS = 60_000;

export function createHttpPollSource(config: HttpPollSourceConfig, rt: SourceRuntime): Source {
  const { ctx, publisher } = rt;
  const what = shown(config.url);
  const topic = recordsTopic(config, publisher.topics.events);
  const labels = { source: config.name };
  const m = ctx.metrics;
  m.describe("logbench_poll_answers_total", "counter", "Answers of polled APIs read");
  m.describe("logbench_poll_errors_total", "counter", "Failed polls (retried), by code");
  m.describe("logbench_poll_duplicates_total", "counter", "Records dropped because their key was seen before");
  m.describe("logbench_poll_dedupe_keys", "gauge", "Keys remembered for de-duplication");
  m.describe("logbench_poll_dedupe_forgotten_total", "counter", "Keys forgotten past dedupeMaxKeys");

  function letter(reason: string, bytes: Uint8Array): DeadLetter {
    const head = Buffer.from(bytes.subarray(0, DEAD_LETTER_BYTES));
    return {
      at: Date.now(),
      source: config.name,
      file: what,
      line: null,
      offset: null,
      reason,
      raw: head.toString("utf8"),
      rawBase64: head.toString("base64"),
    };
  }

  /** Keys this source put on the topic after its last save (acknowledged, then killed before saving). */
  async function recover(store: DedupeStore): Promise<void> {
    const messages = await publisher.bus.readWindow(topic, {
      from: store.savedAt - RECOVERY_MARGIN_MS,
      to: Date.now() + RECOVERY_MARGIN_MS,
    });
    const keys: string[] = [];
    let lastTs = store.lastTs;
    for (const msg of messages) {
      if (msg.offset < (store.marks[String(msg.partition)] ?? 0)) continue;
      const decoded = decodeRecord(msg);
      if ("reason" in decoded || decoded.record.source !== config.name) continue;
      keys.push(decoded.record.key);
      if (config.time === undefined) lastTs = Math.max(lastTs, decoded.record.ts);
    }
    if (keys.length === 0) return;
    store.add(keys, await publisher.topicMarks(topic), lastTs);
    ctx.logger.info("Found records already on the bus past the saved state; they will not be sent again.", {
      source: config.name,
      records: keys.length,
    });
  }

  async function take(store: DedupeStore, status: number, body: Uint8Array, pollTime: number): Promise<void> {
    const dead: DeadLetter[] = [];
    const fresh: RecordMessage[] = [];
    let items: unknown[] = [];
    let answer: unknown;
    let parsed = false;
    try {
      answer = JSON.parse(new TextDecoder().decode(body));
      parsed = true;
    } catch (err) {
      dead.push(letter(`answer is not JSON (HTTP ${status}): ${(err as Error).message}`, body));
    }
    if (parsed && (status < 200 || status > 299)) dead.push(letter(`answer is HTTP ${status}, not 2xx`, body));
    else if (parsed) {
      const exploded = explode(answer, config.explode);
      if ("reason" in exploded) dead.push(letter(`${exploded.reason} (HTTP ${status})`, body));
      else items = exploded.records;
    }
    const inAnswer = new Set<string>();
    let duplicates = 0;
    let nextTs = Math.max(pollTime, store.lastTs + 1);
    items.forEach((item, i) => {
      const checked = checkRecord(item, config);
      if ("reason" in checked) {
        dead.push(letter(`record ${i} of the answer: ${checked.reason}`, Buffer.from(JSON.stringify(item) ?? "")));
        return;
      }
      if (store.has(checked.key) || inAnswer.has(checked.key)) {
        duplicates++;
        return;
      }
      inAnswer.add(checked.key);
      // Without a time field, records of one answer get consecutive milliseconds after the last one sent: each
      // stays its own point (same tags at the same time would overwrite), and their order is kept.
      const ts = checked.ts ?? nextTs++;
      fresh.push({ source: config.name, key: checked.key, ts, record: checked.record });
    });
    if (duplicates) m.inc("logbench_poll_duplicates_total", labels, duplicates);
    if (!fresh.length && !dead.length) return;
    await publisher.publishRecords(config.name, topic, fresh, dead);
    if (!fresh.length) return;
    const before = store.evicted;
    store.add(
      fresh.map((r) => r.key),
      await publisher.topicMarks(topic),
      config.time === undefined ? nextTs - 1 : store.lastTs,
    );
    m.set("logbench_poll_dedupe_keys", labels, store.size);
    if (store.evicted > before) m.inc("logbench_poll_dedupe_forgotten_total", labels, store.evicted - before);
  }

  return {
    name: config.name,
    finite: false,
    async run() {
      const store = new DedupeStore(rt.stateDir, config.name, config.dedupeMaxKeys);
      // Before anything is sent, a save with the current watermarks, so a crash after the first batch finds it.
      if (!store.existed) store.add([], await publisher.topicMarks(topic), 0);
      else await recover(store);
      if (store.evicted) {
        m.inc("logbench_poll_dedupe_forgotten_total", labels, store.evicted);
        ctx.logger.warn("The de-duplication set is full; the oldest keys are forgotten.", {
          source: config.name,
          max: config.dedupeMaxKeys,
        });
      }
      m.set("logbench_poll_dedupe_keys", labels, store.size);
      const get = { headers: config.headers, timeoutMs: config.timeout, maxBytes: config.maxBytes, signal: ctx.signal };
      while (!ctx.signal.aborted) {
        const started = Date.now();
        const answer = await retryWhileRunning(
          ctx,
          { doing: `polling ${what}`, errorMetric: "logbench_poll_errors_total" },
          () => httpGet(config.url, what, get),
        );
        if (!answer) break;
        m.inc("logbench_poll_answers_total", labels);
        if (answer.truncated) {
          const reason = `answer is larger than ${config.maxBytes} bytes (HTTP ${answer.status})`;
          await publisher.publishRecords(config.name, topic, [], [letter(reason, answer.body)]);
        } else await take(store, answer.status, answer.body, started);
        await sleep(Math.max(0, config.interval - (Date.now() - started)), ctx.signal);
      }
    },
  };
}
