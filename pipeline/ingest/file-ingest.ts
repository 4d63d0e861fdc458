/**
 * Reads one log file from its saved position onto the bus, batch by batch, saving the position after each
 * acknowledged batch. Exactly-once across kill -9: before the first batch a position is saved, and every saved
 * position carries the bus high watermarks; on restart, what this source put on the bus past those watermarks
 * (a batch acknowledged but not yet recorded, or half-produced) is read back and those lines are not sent again.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Context } from "../../connectors/context.ts";
import type { BusMessage } from "../../connectors/types.ts";
import type { DeadLetter, LogEvent } from "../model/log-event.ts";
import { type Line, readLines } from "./lines.ts";
import { type LineParser, parseLine, toDeadLetter } from "./parse/index.ts";
import type { FilePosition, PositionStore } from "./positions.ts";
import type { Publisher } from "./publisher.ts";

/** Where a batch of lines goes: `file` is the name its dead letters carry (and recovery looks for). */
export interface LineTarget {
  source: string;
  file: string;
  parser: LineParser;
  publisher: Publisher;
  maxLineBytes: number;
  ctx: Context;
}

export interface FileIngestOptions extends LineTarget {
  positions: PositionStore;
  batchLines: number;
  /** Called before each batch is published (replay pacing). */
  pace?: (events: LogEvent[]) => Promise<void>;
  /** Called after each saved batch with the offset reached (backlog gauges). */
  onProgress?: (offset: number) => void;
}

export type FileIngestResult = "done" | "aborted";

const READ_CHUNK_BYTES = 1 << 20;

/** How far back (ms) the recovery scan reaches before the saved position's wall time, for clock steps. */
const RECOVERY_MARGIN_MS = 60_000;

export async function ingestFile(o: FileIngestOptions): Promise<FileIngestResult> {
  const st = await stat(o.file);
  let pos = o.positions.get(o.file);
  if (pos && (pos.dev !== st.dev || pos.ino !== st.ino)) pos = undefined; // another file now has this name
  if (pos?.done) return "done";
  let pending = pos ? await alreadyOnBus(o, pos) : null;
  if (!pos) {
    pos = {
      dev: st.dev,
      ino: st.ino,
      offset: 0,
      line: 0,
      done: false,
      savedAt: Date.now(),
      marks: await o.publisher.marks(),
    };
    o.positions.set(o.file, pos);
  }
  // 1 MiB reads: readLines ends a batch with each chunk, and with the stream's default 64 KiB a file read at full
  // speed went out in batches of a few hundred lines, each with its fdatasyncs (bus and position).
  const stream = createReadStream(o.file, { start: pos.offset, highWaterMark: READ_CHUNK_BYTES });
  // One batch in flight: the next one is read and parsed while the bus makes the last one durable. It is
  // produced only once the last one's position (with the watermarks right after it) is saved, so a saved
  // position still never claims a line that is not on the bus, and nothing of a later batch is below its marks.
  let inFlight: Promise<void> | null = null;
  const publish = async (batch: readonly Line[], events: LogEvent[], dead: DeadLetter[]) => {
    const at = pos!;
    await o.publisher.publish(o.source, events, dead);
    const last = batch[batch.length - 1]!;
    countRead(o.ctx, o.source, last.end - at.offset);
    pos = { ...at, offset: last.end, line: last.lineNo, savedAt: Date.now(), marks: await o.publisher.marks() };
    o.positions.set(o.file, pos);
    o.onProgress?.(pos.offset);
  };
  try {
    for await (const batch of readLines(stream, {
      maxLineBytes: o.maxLineBytes,
      startOffset: pos.offset,
      startLine: pos.line,
      batchLines: o.batchLines,
    })) {
      const { events, dead } = sortLines(o, batch, pending);
      if (inFlight) await inFlight;
      inFlight = null;
      if (o.ctx.signal.aborted) return "aborted";
      if (o.pace && events.length) await o.pace(events);
      inFlight = publish(batch, events, dead);
      if (settled(pending)) pending = null;
    }
    if (inFlight) await inFlight;
    inFlight = null;
  } finally {
    // A failed or aborted read still waits for the batch on its way (its position is saved, or its error seen).
    await inFlight?.catch(() => {});
    stream.destroy();
  }
  if (o.ctx.signal.aborted) return "aborted";
  o.positions.set(o.file, { ...pos, done: true, savedAt: Date.now() });
  return "done";
}

/**
 * Bytes of a file behind an acknowledged batch (`logbench_ingest_read_bytes_total`): what a progress line or an
 * operator compares to file sizes.
 */
export function countRead(ctx: Context, source: string, bytes: number): void {
  ctx.metrics.describe("logbench_ingest_read_bytes_total", "counter", "Bytes of log files read and acknowledged");
  ctx.metrics.inc("logbench_ingest_read_bytes_total", { source }, bytes);
}

/** What recovery found on the bus past a saved position: lines to skip once as the file is read again. */
export interface Pending {
  /** Event JSON → how many copies of it are already on the bus past the saved position. */
  events: Map<string, number>;
  /** Byte offsets of this file's lines already in dead letters past the saved position. */
  deadOffsets: Set<number>;
}

/** Every line recovery found has been met again. */
export function settled(pending: Pending | null): boolean {
  return pending === null || (pending.events.size === 0 && pending.deadOffsets.size === 0);
}

/** A batch parsed into events and dead letters, without the lines that `pending` says are on the bus already. */
export function sortLines(
  o: LineTarget,
  batch: readonly Line[],
  pending: Pending | null,
): { events: LogEvent[]; dead: DeadLetter[] } {
  const events: LogEvent[] = [];
  const dead: DeadLetter[] = [];
  for (const line of batch) {
    if (pending?.deadOffsets.delete(line.offset)) continue;
    if (line.tooLong) {
      dead.push(toDeadLetter(line, `line longer than ${o.maxLineBytes} bytes`, o.source, o.file));
      continue;
    }
    const outcome = parseLine(o.parser, line, o.source);
    if (!outcome.ok) {
      dead.push(toDeadLetter(line, outcome.reason, o.source, o.file));
      continue;
    }
    if (pending && takeOne(pending.events, JSON.stringify(outcome.event))) continue;
    events.push(outcome.event);
  }
  return { events, dead };
}

/**
 * What this source put on the bus past `pos.marks` (the events, and the dead letters of `o.file`), or null when
 * nothing. Only valid for the file whose batch was in flight: the caller knows which one that is.
 */
export async function alreadyOnBus(o: LineTarget, pos: FilePosition): Promise<Pending | null> {
  const window = { from: pos.savedAt - RECOVERY_MARGIN_MS, to: Date.now() + RECOVERY_MARGIN_MS };
  const { events: eventsTopic, deadLetters: deadTopic } = o.publisher.topics;
  const [events, dead] = await Promise.all([
    o.publisher.bus.readWindow(eventsTopic, window),
    o.publisher.bus.readWindow(deadTopic, window),
  ]);
  const decoder = new TextDecoder();
  const pending: Pending = { events: new Map(), deadOffsets: new Set() };
  for (const m of after(events, pos.marks.events)) {
    const text = decoder.decode(m.value);
    if ((JSON.parse(text) as LogEvent).source !== o.source) continue;
    pending.events.set(text, (pending.events.get(text) ?? 0) + 1);
  }
  for (const m of after(dead, pos.marks.deadLetters)) {
    const letter = JSON.parse(decoder.decode(m.value)) as DeadLetter;
    if (letter.source === o.source && letter.file === o.file && letter.offset !== null)
      pending.deadOffsets.add(letter.offset);
  }
  const found = pending.events.size + pending.deadOffsets.size;
  if (found === 0) return null;
  o.ctx.logger.info("Found lines already on the bus past the saved position; they will not be sent again.", {
    source: o.source,
    file: o.file,
    events: [...pending.events.values()].reduce((a, b) => a + b, 0),
    deadLetters: pending.deadOffsets.size,
  });
  return pending;
}

function* after(messages: BusMessage[], marks: Record<string, number>): Iterable<BusMessage> {
  for (const m of messages) if (m.offset >= (marks[String(m.partition)] ?? 0)) yield m;
}

function takeOne(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key);
  if (!n) return false;
  if (n === 1) counts.delete(key);
  else counts.set(key, n - 1);
  return true;
}
