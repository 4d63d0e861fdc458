/**
 * A `logbench parse --threads N` worker: it takes blocks of whole lines (cut at a newline by the main thread,
 * with the block's byte offset and the number of lines before it) and answers with the block's events as NDJSON
 * bytes and its dead letters as NDJSON text, exactly what the one-thread path writes for those lines.
 */
import { Buffer } from "node:buffer";
import { parentPort, workerData } from "node:worker_threads";
import { readLines } from "../ingest/lines.ts";
import { encodedBound, encodeEvent } from "../ingest/parse/event-json.ts";
import { createParser, type JsonMapping, parseLine, toDeadLetter } from "../ingest/parse/index.ts";

/** What the main thread gives every worker once. */
export interface ParseWorkerSetup {
  format: string;
  keepRaw: boolean;
  json?: JsonMapping;
  source: string;
  maxLineBytes: number;
}

/** One block to parse. `block` is transferred. */
export interface ParseBlock {
  id: number;
  block: Uint8Array;
  file: string;
  /** Byte offset of the block's first byte in its input. */
  offset: number;
  /** Lines of the input before the block. */
  linesBefore: number;
}

/** The answer for a block. `events` and `dead` are transferred. */
export interface ParseResult {
  id: number;
  events: Uint8Array;
  dead: Uint8Array;
  lines: number;
  eventCount: number;
  deadCount: number;
}

const setup = workerData as ParseWorkerSetup;
const parser = createParser(setup.format, { keepRaw: setup.keepRaw, json: setup.json });

async function parseBlock(msg: ParseBlock): Promise<ParseResult> {
  // Never from Buffer's shared pool: the memory is transferred to the main thread.
  let out = Buffer.allocUnsafeSlow(Math.max(1024, msg.block.length * 4));
  let at = 0;
  const dead: string[] = [];
  let lines = 0;
  let eventCount = 0;
  const single = (async function* () {
    yield msg.block;
  })();
  const opts = { maxLineBytes: setup.maxLineBytes, startOffset: msg.offset, startLine: msg.linesBefore };
  for await (const batch of readLines(single, { ...opts, batchLines: 1 << 20 })) {
    for (const line of batch) {
      const outcome = parseLine(parser, line, setup.source);
      if (outcome.ok) {
        const need = encodedBound(outcome.event) + 1;
        if (at + need > out.length) {
          const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, at + need));
          out.copy(bigger, 0, 0, at);
          out = bigger;
        }
        at = encodeEvent(outcome.event, out, at);
        out[at++] = 10;
        eventCount++;
      } else dead.push(JSON.stringify(toDeadLetter(line, outcome.reason, setup.source, msg.file)));
    }
    lines += batch.length;
  }
  const text = dead.length === 0 ? "" : `${dead.join("\n")}\n`;
  const deadBytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  deadBytes.write(text);
  return { id: msg.id, events: out.subarray(0, at), dead: deadBytes, lines, eventCount, deadCount: dead.length };
}

parentPort!.on("message", (msg: ParseBlock) => {
  parseBlock(msg).then(
    (r) => parentPort!.postMessage(r, [r.events.buffer as ArrayBuffer, r.dead.buffer as ArrayBuffer]),
    (err: Error) => parentPort!.postMessage({ id: msg.id, error: err.message }),
  );
});
