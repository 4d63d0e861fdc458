/**
 * The seed's second pipeline end to end: a local HTTP server plays the population API (overlapping record sets
 * across polls, a record appearing later, one answer that is not JSON), the real daemon polls it, is SIGKILLed
 * once and restarted, and the test checks `records`, `population` and the dead letters against what the server
 * itself served.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { parse, stringify } from "yaml";
import { query, startDaemon, stopDaemon, waitFor } from "./harness.ts";

interface Nation {
  "ID Nation": string;
  Nation: string;
  "ID Year": number;
  Year: string;
  Population: number;
  "Slug Nation": string;
}

const us = (year: number, population: number): Nation => ({
  "ID Nation": "01000US",
  Nation: "United States",
  "ID Year": year,
  Year: String(year),
  Population: population,
  "Slug Nation": "united-states",
});
const [A, B, C, D, E] = [
  us(2019, 328239523),
  us(2018, 327167439),
  us(2017, 325719178),
  us(2016, 323127515),
  us(2015, 321418821),
];
const NOT_JSON = `<html><head><title>502 Bad Gateway</title></head><body>${"upstream timed out ".repeat(120)}</body></html>`;

/** The population API: answers by phase and request number; remembers every distinct record it served. */
export async function populationApi() {
  const served = new Map<string, Nation>();
  let phase = 1;
  let inPhase = 0;
  let total = 0;
  const server = createServer((_req, res) => {
    const n = inPhase++;
    total++;
    let records: Nation[] | null;
    if (phase === 1) records = n < 2 ? [A, B] : n === 2 ? null : [A, B, C];
    else records = n < 2 ? [A, B, C, D] : [B, C, D, E];
    if (records === null) {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(NOT_JSON);
      return;
    }
    for (const r of records) served.set(`${r["ID Nation"]}|${r.Year}`, r);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: records, source: [{ name: "acs_yg_total_population_1" }] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/data?drilldowns=Nation&measures=Population`;
  return {
    url,
    served,
    answers: () => ({ phase, inPhase, total }),
    nextPhase() {
      phase = 2;
      inPhase = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The seed config's source, pointed at the local server. */
export function pollSource(url: string) {
  return {
    type: "http-poll",
    name: "pop",
    url,
    interval: "200ms",
    explode: "data",
    key: ["ID Nation", "Year"],
    measurement: "population",
    tags: ["Nation"],
    fields: ["Population"],
  };
}

/** Replace the sources of a written config file (the harness writes a spool source). */
export function withSources(configFile: string, sources: unknown[]): string {
  const doc = parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
  doc.sources = sources;
  writeFileSync(configFile, stringify(doc));
  return configFile;
}

async function recordCounts(config: string) {
  const [r] = await query(config, "select count(*) as n from records");
  const [p] = await query(config, "select count(*) as n from population");
  return { records: Number(r!.n), points: Number(p!.n) };
}

export async function runPollScenario(config: string, api: Awaited<ReturnType<typeof populationApi>>) {
  const first = startDaemon(config);
  try {
    // Past the non-JSON answer (3rd) and the first answer with C (4th), and a few duplicate polls after.
    await waitFor(
      "six answers served",
      async () => api.answers().total,
      (n) => n >= 6,
      { daemon: first },
    );
  } finally {
    first.child.kill("SIGKILL");
    await first.exited;
  }
  api.nextPhase();
  const second = startDaemon(config);
  try {
    // Cheap first (the server's own count), then the catalog: E is served from the 3rd answer on.
    await waitFor(
      "five answers after the restart",
      async () => api.answers().inPhase,
      (n) => n >= 5,
      {
        daemon: second,
      },
    );
    await waitFor(
      "every distinct record archived and written after the restart",
      () => recordCounts(config),
      (c) => c.records >= 5 && c.points >= 5,
      { daemon: second },
    );
    expect(await stopDaemon(second), second.stderr().slice(-2000)).toBe(0);
  } finally {
    await stopDaemon(second, "SIGKILL");
  }

  // What the server served, counted here: five distinct records (A..E), each served several times.
  const expected = [...api.served.entries()].sort(([a], [b]) => a.localeCompare(b));
  expect(expected.map(([k]) => k)).toEqual([
    "01000US|2015",
    "01000US|2016",
    "01000US|2017",
    "01000US|2018",
    "01000US|2019",
  ]);

  const records = await query(config, "select source, key, ts, record::varchar as record from records order by key");
  expect(records.map((r) => [String(r.key), JSON.parse(String(r.record))])).toEqual(expected);
  for (const r of records) expect(r.source).toBe("pop");

  const points = await query(config, 'select time, source, "Nation", "Population" from population order by time');
  expect(points).toHaveLength(expected.length);
  expect(points.map((p) => [p.source, p.Nation, Number(p.Population)]).sort()).toEqual(
    expected.map(([, r]) => ["pop", r.Nation, r.Population]).sort(),
  );
  // Point time = the record's ts (its poll time, a millisecond apart within an answer).
  expect(new Set(points.map((p) => Number(p.time)))).toEqual(new Set(records.map((r) => Number(r.ts))));

  const dead = await query(config, "select reason, raw, file from dead_letters where source = 'pop'");
  expect(dead).toHaveLength(1);
  expect(String(dead[0]!.reason)).toMatch(/^answer is not JSON \(HTTP 200\)/);
  expect(dead[0]!.raw).toBe(NOT_JSON.slice(0, 1024));
  expect(dead[0]!.file).toBe(api.url.split("?")[0]);
}
