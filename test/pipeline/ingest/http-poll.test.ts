/**
 * The http-poll source against a local node:http server playing a JSON API: explode paths, de-duplication across
 * polls, restarts and a crash between "acknowledged" and "saved", Retry-After, and non-JSON answers as dead letters.
 */

import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import type { Bus } from "../../../connectors/types.ts";
import { explode } from "../../../pipeline/ingest/json-records.ts";
import { Publisher } from "../../../pipeline/ingest/publisher.ts";
import { createHttpPollSource, httpPollSourceSchema } from "../../../pipeline/ingest/sources/http-poll.ts";
import type { DeadLetter } from "../../../pipeline/model/log-event.ts";
import type { RecordMessage } from "../../../pipeline/model/record.ts";

const TOPICS = { events: "weblogs", deadLetters: "weblogs.dlq" };
const RECORDS = "weblogs.records.pop";

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: string;
}

/** A JSON API answering `script` in turn (the last answer repeats), recording when each request came. */
async function api(script: Answer[]): Promise<{ url: string; times: number[]; server: Server }> {
  const times: number[] = [];
  const server = createServer((_req, res) => {
    const answer = script[Math.min(times.length, script.length - 1)]!;
    times.push(Date.now());
    res.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/data?key=secret`, times, server };
}
const servers: Server[] = [];
/** Closed after each test: a bus left open leaves its file handles for the garbage collector to close. */
const buses: Bus[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

const nation = (id: string, year: number, population: number) => ({
  "ID Nation": id,
  Nation: `Nation ${id}`,
  Year: String(year),
  Population: population,
});
const population = (...records: unknown[]) => ({ body: JSON.stringify({ data: records, source: [] }) });

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "logbench-poll-"));
  const ctx = silentContext();
  const bus = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 3, fsync: false }, ctx);
  buses.push(bus);
  return { dir, bus };
}

function config(url: string, extra: Record<string, unknown> = {}) {
  return httpPollSourceSchema.parse({
    type: "http-poll",
    name: "pop",
    url,
    interval: "50ms",
    explode: "data",
    key: ["ID Nation", "Year"],
    measurement: "population",
    tags: ["Nation"],
    fields: ["Population"],
    ...extra,
  });
}

async function onBus(bus: Bus) {
  const all = { from: 0, to: Number.MAX_SAFE_INTEGER };
  const decode = (v: Uint8Array) => JSON.parse(new TextDecoder().decode(v));
  const records = (await bus.readWindow(RECORDS, all)).map((m) => decode(m.value) as RecordMessage);
  const dead = (await bus.readWindow(TOPICS.deadLetters, all)).map((m) => decode(m.value) as DeadLetter);
  return { records, dead };
}

/** Runs the source until `until` holds (deadline 20 s), then stops it; returns run()'s outcome. */
async function runUntil(
  dir: string,
  publisher: Publisher,
  cfg: ReturnType<typeof config>,
  until: () => Promise<boolean>,
): Promise<void> {
  const abort = new AbortController();
  const ctx = { ...silentContext(), signal: abort.signal };
  const source = createHttpPollSource(cfg, {
    publisher,
    stateDir: join(dir, "state"),
    parse: { maxLineBytes: 65536, keepRaw: false },
    ctx,
  });
  let failure: unknown = null;
  const running = source.run().catch((err) => {
    failure = err;
  });
  const deadline = Date.now() + 20_000;
  try {
    while (!(await until())) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error("timed out waiting for the source");
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    abort.abort();
    await running;
  }
  if (failure) throw failure;
}

describe("explode", () => {
  it("finds the array at a dotted path, or takes the answer as the records", () => {
    expect(explode({ data: [1, 2] }, "data")).toEqual({ records: [1, 2] });
    expect(explode({ a: { b: [{ x: 1 }] } }, "a.b")).toEqual({ records: [{ x: 1 }] });
    expect(explode([{ x: 1 }, { x: 2 }], undefined)).toEqual({ records: [{ x: 1 }, { x: 2 }] });
    expect(explode({ x: 1 }, undefined)).toEqual({ records: [{ x: 1 }] });
  });

  it("says why when the path leads nowhere or to something else than an array", () => {
    expect(explode({ data: {} }, "data")).toEqual({ reason: 'explode path "data" holds a JSON object, not an array' });
    expect(explode({ a: 3 }, "a.b")).toEqual({ reason: 'explode path "a.b": "a" is a JSON number, not an object' });
    expect(explode({ a: {} }, "a.b")).toEqual({ reason: 'explode path "a.b": the answer has no "a.b"' });
    expect(explode([1], "data")).toEqual({ reason: 'explode path "data": the answer is a JSON array, not an object' });
    expect(explode("text", undefined)).toEqual({
      reason: "the answer is a JSON string, not an object or an array of records",
    });
  });
});

describe("http-poll source", () => {
  it("puts each distinct record on the bus once, across polls and a restart", async () => {
    const { dir, bus } = setup();
    const [a, b, c, d, e] = [
      nation("01", 2019, 10),
      nation("01", 2018, 9),
      nation("02", 2019, 20),
      nation("02", 2018, 19),
      nation("03", 2019, 30),
    ];
    const first = await api([population(a, b), population(a, b, a), population(b, c), population(c, d)]);
    const publisher = new Publisher(bus, TOPICS, silentContext());
    await runUntil(dir, publisher, config(first.url), async () => (await onBus(bus)).records.length >= 4);
    expect(first.times.length).toBeGreaterThanOrEqual(4);

    // Restart on the same state: everything the API serves again is known; only e is new.
    const second = await api([population(a, b, c, d, e)]);
    await runUntil(dir, publisher, config(second.url), async () => second.times.length >= 3);
    const { records, dead } = await onBus(bus);
    expect(records.map((r) => r.key).sort()).toEqual(["01|2018", "01|2019", "02|2018", "02|2019", "03|2019"]);
    expect(dead).toEqual([]);
    const byKey = new Map(records.map((r) => [r.key, r]));
    expect(byKey.get("03|2019")!.record).toEqual(e);
    expect(byKey.get("03|2019")!.source).toBe("pop");
    // Without a time field every record gets its own millisecond, in the order sent.
    expect(new Set(records.map((r) => r.ts)).size).toBe(5);
  });

  it("sends nothing again after a crash between the bus acknowledging and the keys being saved", async () => {
    const { dir, bus } = setup();
    const server = await api([population(nation("01", 2019, 10), nation("02", 2019, 20))]);
    const crashing = new Publisher(bus, TOPICS, silentContext());
    const realMarks = crashing.topicMarks.bind(crashing);
    let calls = 0;
    // Call 1 is the save before anything is sent; call 2 runs between "acknowledged" and "saved".
    crashing.topicMarks = async (topic) => {
      if (++calls === 2) throw new Error("simulated crash");
      return realMarks(topic);
    };
    await expect(runUntil(dir, crashing, config(server.url), async () => false)).rejects.toThrow("simulated crash");
    expect((await onBus(bus)).records).toHaveLength(2);

    const again = await api([population(nation("01", 2019, 10), nation("02", 2019, 20), nation("03", 2019, 30))]);
    const publisher = new Publisher(bus, TOPICS, silentContext());
    await runUntil(dir, publisher, config(again.url), async () => again.times.length >= 3);
    expect((await onBus(bus)).records.map((r) => r.key).sort()).toEqual(["01|2019", "02|2019", "03|2019"]);
  });

  for (const status of [429, 503]) {
    it(`waits as long as Retry-After says on HTTP ${status}`, async () => {
      const { dir, bus } = setup();
      const server = await api([
        { status, headers: { "retry-after": "2" }, body: "slow down" },
        population(nation("01", 2019, 10)),
      ]);
      const publisher = new Publisher(bus, TOPICS, silentContext());
      await runUntil(dir, publisher, config(server.url), async () => (await onBus(bus)).records.length === 1);
      // The helper's own first backoff is 250 ms: only Retry-After explains a gap of 2 s.
      expect(server.times[1]! - server.times[0]!).toBeGreaterThanOrEqual(1900);
      expect((await onBus(bus)).dead).toEqual([]);
    });
  }

  it("keeps an answer that is not JSON as a dead letter with its status and first KB", async () => {
    const { dir, bus } = setup();
    const html = `<html>${"x".repeat(3000)}</html>`;
    const server = await api([{ status: 200, body: html }, population(nation("01", 2019, 10))]);
    const publisher = new Publisher(bus, TOPICS, silentContext());
    await runUntil(dir, publisher, config(server.url), async () => (await onBus(bus)).records.length === 1);
    const { dead } = await onBus(bus);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^answer is not JSON \(HTTP 200\)/);
    expect(dead[0]!.raw).toBe(html.slice(0, 1024));
    expect(Buffer.from(dead[0]!.rawBase64, "base64").toString("utf8")).toBe(html.slice(0, 1024));
    expect(dead[0]!.source).toBe("pop");
    // The query string may hold an API key: dead letters name the URL without it.
    expect(dead[0]!.file).toBe(server.url.replace("?key=secret", ""));
  });

  it("dead-letters records without their key and answers of another shape, and takes record times", async () => {
    const { dir, bus } = setup();
    const server = await api([
      { status: 200, body: JSON.stringify({ data: { not: "an array" } }) },
      { status: 404, body: JSON.stringify({ error: "no such thing" }) },
      population({ Nation: "no id", Year: "2019", Population: 1 }, nation("01", 2019, 10)),
      population(nation("01", 2019, 10)),
    ]);
    const publisher = new Publisher(bus, TOPICS, silentContext());
    const cfg = config(server.url, { time: "Year" });
    await runUntil(dir, publisher, cfg, async () => server.times.length >= 4);
    const { records, dead } = await onBus(bus);
    expect(records).toHaveLength(1);
    expect(dead.map((d) => d.reason)).toEqual([
      'explode path "data" holds a JSON object, not an array (HTTP 200)',
      "answer is HTTP 404, not 2xx",
      'record 0 of the answer: key field "ID Nation" is missing',
    ]);
    expect(records[0]!.ts).toBe(Date.UTC(2019, 0, 1));
  });
});
