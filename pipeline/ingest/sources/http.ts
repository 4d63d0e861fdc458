/**
 * Push over HTTP: `POST /api/ingest/<name>` on the daemon's API port, one log line per body line.
 *
 *   Content-Type: text/plain             each line is parsed with the source's format
 *   Content-Type: application/x-ndjson   each line is a JSON object: with format `json` it is the record
 *                                        itself; with any other format its string field `line` (or else
 *                                        `message`) is the log line that is parsed
 *
 * The answer comes once the bus has acknowledged every line, so a 200 means durable:
 * `{"events": N, "deadLetters": M}`. A line that does not parse is a dead letter (raw = the body line as sent),
 * never a failed request. 413 over `maxBodyBytes` (nothing taken), 415 for another content type, 405 for
 * another method, 401 without the API token (checked by the API server), 503 when the bus did not take the
 * lines or the daemon is stopping: retry then (lines of a 503 may already be on the bus: at least once).
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { size } from "../../../connectors/config-helpers.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import type { DeadLetter, LogEvent } from "../../model/log-event.ts";
import { retryWhileRunning } from "../../retry.ts";
import { type Line, readLines } from "../lines.ts";
import { createParser, type ParseOutcome, parseLine, toDeadLetter } from "../parse/index.ts";
import { type Source, type SourceComponent, type SourceRuntime, sourceFields } from "../source.ts";

export const httpSourceSchema = z
  .object({
    type: z.literal("http"),
    name: sourceFields.name("push").describe("Source name: lines are POSTed to /api/ingest/<name>"),
    format: sourceFields.format(),
    maxBodyBytes: size("16MB").default(16_000_000).describe("Larger request bodies are refused with 413"),
    batchLines: sourceFields.batchLines(),
  })
  .strict()
  .describe("Lines POSTed to /api/ingest/<name> on the daemon's API port (answers once they are on the bus)");

export type HttpSourceConfig = z.infer<typeof httpSourceSchema>;

export const httpSource: SourceComponent<typeof httpSourceSchema> = {
  type: "http",
  schema: httpSourceSchema,
  create: (config, rt) => createHttpSource(config, rt),
  addressField: "name",
  describe: (config) => `POST /api/ingest/${config.name} on the API port (${config.format})`,
  async check(config) {
    createParser(config.format);
    return `served at POST /api/ingest/${config.name} by the daemon's API (api.enabled must be true)`;
  },
};

const TEXT = "text/plain";
const NDJSON = ["application/x-ndjson", "application/ndjson"];

export function createHttpSource(config: HttpSourceConfig, rt: SourceRuntime): Source {
  const routes = rt.http;
  if (!routes)
    throw new LogbenchError(
      "CONFIG",
      `sources: the http source "${config.name}" is served by the daemon's API, which is disabled: set api.enabled: true`,
    );
  const parser = createParser(config.format, { keepRaw: rt.parse.keepRaw });
  const recordIsLine = parser.format.trim().toLowerCase() === "json";
  const log = rt.ctx.logger.child({ source: config.name });
  const { metrics, signal } = rt.ctx;
  metrics.describe("logbench_ingest_errors_total", "counter", "Failed bus publishes of a source, by code");
  metrics.describe("logbench_http_ingest_requests_total", "counter", "Push requests by answer status");
  const inFlight = new Set<Promise<void>>();
  let stopping = false;

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    metrics.inc("logbench_http_ingest_requests_total", { source: config.name, status: String(status) });
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  function parseRecord(line: Line): ParseOutcome {
    if (recordIsLine) return parseLine(parser, line, config.name);
    let record: unknown;
    try {
      record = JSON.parse(Buffer.from(line.bytes).toString("utf8"));
    } catch (err) {
      return { ok: false, reason: `not a JSON object: ${(err as Error).message}` };
    }
    const obj = record !== null && typeof record === "object" && !Array.isArray(record) ? record : null;
    const text = obj && ("line" in obj ? obj.line : "message" in obj ? obj.message : undefined);
    if (typeof text !== "string")
      return { ok: false, reason: 'NDJSON record without a string "line" or "message" field' };
    return parser.parseText(text, config.name);
  }

  async function ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST")
      return answer(res, 405, { error: `use POST with ${TEXT} or ${NDJSON[0]} lines` }, { Allow: "POST" });
    if (stopping) return answer(res, 503, { error: "the daemon is stopping: retry shortly" }, { "Retry-After": "5" });
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const ndjson = NDJSON.includes(type);
    if (type !== TEXT && !ndjson)
      return answer(res, 415, {
        error: `Content-Type ${type ? `"${type}"` : "missing"}: send ${TEXT} (log lines) or ${NDJSON[0]} (JSON objects, one per line)`,
      });
    const body = await readBody(req, config.maxBodyBytes);
    if (body === null)
      return answer(res, 413, {
        error: `body larger than maxBodyBytes (${config.maxBodyBytes} bytes): nothing was taken; send it in smaller requests`,
      });
    const from = `http://${req.socket.remoteAddress}${req.url ?? ""}`;
    const max = rt.parse.maxLineBytes;
    let events = 0;
    let deadLetters = 0;
    try {
      for await (const lines of readLines(once(body), { maxLineBytes: max, batchLines: config.batchLines })) {
        const good: LogEvent[] = [];
        const dead: DeadLetter[] = [];
        for (const line of lines) {
          const outcome: ParseOutcome = line.tooLong
            ? { ok: false, reason: `line longer than ${max} bytes` }
            : ndjson
              ? parseRecord(line)
              : parseLine(parser, line, config.name);
          if (outcome.ok) good.push(outcome.event);
          else dead.push(toDeadLetter(line, outcome.reason, config.name, from));
        }
        await retryWhileRunning(
          rt.ctx,
          { doing: "publishing pushed lines", errorMetric: "logbench_ingest_errors_total" },
          () => rt.publisher.publish(config.name, good, dead),
        );
        events += good.length;
        deadLetters += dead.length;
      }
    } catch (err) {
      log.warn("Pushed lines were not taken by the bus; the sender was told to retry.", { err });
      return answer(
        res,
        503,
        { error: `the bus did not take the lines (${(err as Error).message}): retry the request`, events, deadLetters },
        { "Retry-After": "5" },
      );
    }
    answer(res, 200, { events, deadLetters });
  }

  return {
    name: config.name,
    finite: false,
    async run() {
      const unroute = routes.route(config.name, (req, res) => {
        const job = ingest(req, res).catch((err) => {
          if (!res.headersSent) answer(res, 500, { error: String((err as Error).message) });
          else res.end();
        });
        inFlight.add(job);
        return job.finally(() => inFlight.delete(job));
      });
      log.info("HTTP push source ready.", { path: `/api/ingest/${config.name}` });
      await new Promise<void>((done) => {
        if (signal.aborted) done();
        else signal.addEventListener("abort", () => done(), { once: true });
      });
      // New requests get 503 from here; those already reading or publishing finish and get their answer.
      stopping = true;
      await Promise.all(inFlight);
      unroute();
    },
  };
}

/**
 * The whole body, or null when it is over `limit` bytes. An oversized body is read to its end and dropped (not
 * kept), so the client gets its 413 instead of a reset connection.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"] ?? "0");
  let over = declared > limit;
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limit) over = true;
    // Draining is for a body a little too large; an endless one is cut off.
    if (bytes > limit * 4 + 2 ** 20) {
      req.destroy();
      break;
    }
    if (!over) parts.push(chunk);
  }
  return over ? null : Buffer.concat(parts, bytes);
}

async function* once(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}
