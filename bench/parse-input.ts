/**
 * Builds the benchmark inputs under bench/out/ from the real samples, once (kept while the samples
 * do not change): copies of a sample with their dates moved forward copy by copy, so that the
 * events keep their real hosts, paths, sizes and order within a day, and windows never repeat.
 */

import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { readLines } from "../pipeline/ingest/lines.ts";
import { createParser } from "../pipeline/ingest/parse/index.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface BenchInput {
  /** What the file is, for the table. */
  label: string;
  path: string;
  lines: number;
  bytes: number;
  /** How it was made, for docs/benchmarks.md. */
  recipe: string;
}

/** "01/Jul/1995" moved by `days`. */
function shiftDate(ddMonYyyy: string, days: number): string {
  const d = new Date(
    Date.UTC(
      Number(ddMonYyyy.slice(7, 11)),
      MONTHS.indexOf(ddMonYyyy.slice(3, 6)),
      Number(ddMonYyyy.slice(0, 2)) + days,
    ),
  );
  return `${String(d.getUTCDate()).padStart(2, "0")}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
}

async function writeLines(
  path: string,
  make: (write: (text: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const out = createWriteStream(`${path}.tmp`);
  let buffered = "";
  const write = async (text: string) => {
    buffered += text;
    if (buffered.length > 1 << 20) {
      if (!out.write(buffered)) await once(out, "drain");
      buffered = "";
    }
  };
  await make(write);
  out.write(buffered);
  out.end();
  await once(out, "finish");
  renameSync(`${path}.tmp`, path);
}

/** `copies` copies of a CLF/combined sample, copy k with every date moved k × `shiftDays` days. */
async function repeatShifted(sample: string, path: string, copies: number, shiftDays: number): Promise<void> {
  const lines = readFileSync(sample, "utf8").replace(/\n$/, "").split("\n");
  await writeLines(path, async (write) => {
    for (let k = 0; k < copies; k++) {
      const cache = new Map<string, string>();
      let chunk = "";
      for (const line of lines) {
        const at = line.indexOf("[");
        const date = line.slice(at + 1, at + 12);
        let shifted = cache.get(date);
        if (shifted === undefined) {
          shifted = /^\d\d\/\w{3}\/\d{4}$/.test(date) ? shiftDate(date, k * shiftDays) : date;
          cache.set(date, shifted);
        }
        chunk += `${line.slice(0, at + 1)}${shifted}${line.slice(at + 12)}\n`;
      }
      await write(chunk);
    }
  });
}

/** The combined input as nginx `escape=json` access-log records (the line the parser rejects is left out). */
async function toJsonLines(combined: string, path: string): Promise<void> {
  const parser = createParser("combined");
  await writeLines(path, async (write) => {
    for await (const batch of readLines(createReadStream(combined))) {
      let chunk = "";
      for (const line of batch) {
        const out = parser.parse(line.bytes, "bench");
        if (!out.ok) continue;
        const e = out.event;
        const request =
          e.method === null ? "-" : `${e.method} ${e.path}${e.query === null ? "" : `?${e.query}`} ${e.protocol}`;
        chunk += `${JSON.stringify({
          time: new Date(e.ts).toISOString().replace("Z", "+00:00"),
          remote_addr: e.host,
          remote_user: e.user ?? "",
          request,
          status: e.status,
          body_bytes_sent: e.bytes ?? 0,
          http_referer: e.referrer ?? "",
          http_user_agent: e.agent ?? "",
        })}\n`;
      }
      await write(chunk);
    }
  });
}

function describe(label: string, path: string, recipe: string): BenchInput {
  const bytes = statSync(path).size;
  let lines = 0;
  const data = readFileSync(path);
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) lines++;
  return { label, path, lines, bytes, recipe };
}

/** The CLF, combined and JSON inputs (≥ 1M lines each), built on first use. */
export async function benchInputs(root: string): Promise<{ clf: BenchInput; combined: BenchInput; json: BenchInput }> {
  const samples = join(root, "data/samples");
  const out = join(root, "bench/out");
  await mkdir(out, { recursive: true });
  const clf = join(out, "nasa-clf-45x.log");
  const combined = join(out, "elastic-combined-100x.log");
  const json = join(out, "elastic-json-100x.ndjson");
  if (!existsSync(clf)) await repeatShifted(join(samples, "nasa-jul95-insight-variant.log"), clf, 45, 1);
  if (!existsSync(combined)) await repeatShifted(join(samples, "elastic-apache-combined.log"), combined, 100, 4);
  if (!existsSync(json)) await toJsonLines(combined, json);
  return {
    clf: describe(
      "CLF",
      clf,
      "nasa-jul95-insight-variant.log (22,674 lines) × 45, copy k dated k days later (01/Jul → 14/Aug/1995)",
    ),
    combined: describe(
      "combined",
      combined,
      "elastic-apache-combined.log (10,000 lines) × 100, copy k dated 4k days later; 100 lines have a cut user agent",
    ),
    json: describe(
      "JSON lines",
      json,
      "the combined input's events written as nginx escape=json records (time, remote_addr, request, status, …)",
    ),
  };
}
