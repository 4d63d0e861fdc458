/**
 * A `logbench parse --threads N` worker. It parses either a byte range of a file, which it reads itself (the
 * lines that start in the range), or a block of whole lines the main thread read (standard input, pipes). It
 * answers with the events as NDJSON bytes, exactly what the one-thread path writes, and the dead letters as
 * objects whose line numbers count from the range's or block's first line: only the main thread, writing the
 * answers in input order, knows how many lines came before.
 */
import { Buffer } from "node:buffer";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";
import { readLines } from "../ingest/lines.ts";
import { encodedBound, encodeEvent } from "../ingest/parse/event-json.ts";
import { createParser, type JsonMapping, parseLine, toDeadLetter } from "../ingest/parse/index.ts";
import type { DeadLetter } from "../model/log-event.ts";

/** What the main thread gives every worker once. */
export interface ParseWorkerSetup {
  format: string;
  keepRaw: boolean;
  json?: JsonMapping;
  source: string;
  maxLineBytes: number;
}

/** One piece of work: a block of whole lines (transferred), or the lines that start in [start, end) of a file. */
export type ParseTask =
  | { id: number; kind: "block"; block: Uint8Array; file: string; offset: number }
  | { id: number; kind: "range"; path: string; file: string; start: number; end: number; bytes: number };

/** The answer for a task. `events` is transferred. */
export interface ParseResult {
  id: number;
  events: Uint8Array;
  /** Line numbers count from 1 at the task's first line. */
  dead: DeadLetter[];
  lines: number;
  eventCount: number;
}

const setup = workerData as ParseWorkerSetup;
const parser = createParser(setup.format, { keepRaw: setup.keepRaw, json: setup.json });

/** Where the first line starting at or after `start` begins (`end` or more when none starts before `end`). */
async function firstLineStart(path: string, start: number, end: number): Promise<number> {
  if (start === 0) return 0;
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    // The byte before `start` tells whether a line starts right at it.
    for (let at = start - 1; at < end; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) return end;
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl !== -1) return at + nl + 1;
      at += bytesRead;
    }
    return end;
  } finally {
    await fh.close();
  }
}

async function run(task: ParseTask): Promise<ParseResult> {
  let chunks: AsyncIterable<Uint8Array>;
  let startOffset: number;
  let end = Number.POSITIVE_INFINITY;
  let size: number;
  let stream: ReturnType<typeof createReadStream> | null = null;
  if (task.kind === "block") {
    const block = task.block;
    chunks = (async function* () {
      yield block;
    })();
    startOffset = task.offset;
    size = task.block.length;
  } else {
    startOffset = await firstLineStart(task.path, task.start, task.end);
    end = task.end;
    size = task.bytes;
    if (startOffset >= end) return { id: task.id, events: new Uint8Array(0), dead: [], lines: 0, eventCount: 0 };
    stream = createReadStream(task.path, { start: startOffset, highWaterMark: 1 << 20 });
    chunks = stream;
  }
  // Never from Buffer's shared pool: the memory is transferred to the main thread.
  let out = Buffer.allocUnsafeSlow(Math.max(1024, size * 4));
  let at = 0;
  const dead: DeadLetter[] = [];
  let lines = 0;
  let eventCount = 0;
  try {
    const opts = { maxLineBytes: setup.maxLineBytes, startOffset, startLine: 0 };
    reading: for await (const batch of readLines(chunks, opts)) {
      for (const line of batch) {
        // A range owns the lines that start in it; the next range starts with the next one.
        if (line.offset >= end) break reading;
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
        } else dead.push(toDeadLetter(line, outcome.reason, setup.source, task.file));
        lines++;
      }
    }
  } finally {
    stream?.destroy();
  }
  return { id: task.id, events: out.subarray(0, at), dead, lines, eventCount };
}

parentPort!.on("message", (task: ParseTask) => {
  run(task).then(
    (r) => parentPort!.postMessage(r, [r.events.buffer as ArrayBuffer]),
    (err: Error) => parentPort!.postMessage({ id: task.id, error: err.message }),
  );
});
