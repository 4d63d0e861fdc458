/**
 * One measurement in its own process (so that peak RSS belongs to one contender), printing one JSON
 * line. Started by bench/parse.ts:
 *
 *   node --import tsx bench/parse-child.ts batches FILE CONTENDER…   parsers side by side on the same batches
 *   node --import tsx bench/parse-child.ts file MODE FILE             a whole file: events | regex-events | aggregates
 */
import { createReadStream } from "node:fs";
import { readLines } from "../pipeline/ingest/lines.ts";
import { createParser, parseLine } from "../pipeline/ingest/parse/index.ts";
import { batchParser, CLF_RE, regexEvent, windowAggregator } from "./parse-contenders.ts";

/** Batches left out of the timing while the JIT settles. */
const WARMUP_BATCHES = 10;

async function sideBySide(file: string, names: string[]) {
  const contenders = names.map((name) => ({ name, parse: batchParser(name), ms: 0, cpuUs: 0, lines: 0, ok: 0 }));
  let n = 0;
  for await (const batch of readLines(createReadStream(file, { highWaterMark: 1 << 20 }))) {
    // Rotate who goes first, so that no contender always finds the batch in a colder cache.
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + n) % contenders.length]!;
      // CPU time beside wall time: on a shared machine a preempted batch costs wall time, not CPU.
      const cpu = process.cpuUsage();
      const t = performance.now();
      const ok = c.parse(batch);
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      if (n >= WARMUP_BATCHES) {
        c.ms += ms;
        c.cpuUs += used.user + used.system;
        c.lines += batch.length;
        c.ok += ok;
      }
    }
    n++;
  }
  return {
    contenders: contenders.map(({ name, ms, cpuUs, lines, ok }) => ({
      name,
      seconds: ms / 1000,
      cpuSeconds: cpuUs / 1e6,
      lines,
      ok,
    })),
  };
}

async function wholeFile(mode: string, file: string) {
  const started = performance.now();
  const parser = createParser("clf");
  const decoder = new TextDecoder();
  const aggregator = mode === "aggregates" ? windowAggregator() : null;
  let lines = 0;
  let events = 0;
  for await (const batch of readLines(createReadStream(file, { highWaterMark: 1 << 20 }))) {
    lines += batch.length;
    for (const line of batch) {
      if (mode === "regex-events") {
        const e = regexEvent(decoder.decode(line.bytes), CLF_RE, "bench");
        if (e) events++;
        continue;
      }
      const out = parseLine(parser, line, "bench");
      if (!out.ok) continue;
      events++;
      aggregator?.add(out.event);
    }
    aggregator?.flush();
  }
  const aggregates = aggregator?.finish();
  return { mode, lines, events, dead: lines - events, seconds: (performance.now() - started) / 1000, ...aggregates };
}

const [what, ...rest] = process.argv.slice(2);
const result = what === "batches" ? await sideBySide(rest[0]!, rest.slice(1)) : await wholeFile(rest[0]!, rest[1]!);
process.stdout.write(`${JSON.stringify({ ...result, maxRssKb: process.resourceUsage().maxRSS })}\n`);
