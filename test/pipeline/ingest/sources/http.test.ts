/**
 * The http push source behind the real API server: 200 only after the bus acknowledged, with the counts; bad
 * lines are dead letters, not failed requests; 401/404/405/413/415/503 each with a body that says what to do.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsRegistry, silentLogger } from "../../../../connectors/context.ts";
import { createLocalArchive } from "../../../../connectors/local/archive-dir.ts";
import { createLocalBus } from "../../../../connectors/local/file-log.ts";
import { type ApiServer, startApi } from "../../../../pipeline/api/server.ts";
import { createHttpSource, type HttpSourceConfig, httpSource } from "../../../../pipeline/ingest/sources/http.ts";
import { type Recorder, recorder, runtime, sampleLines, type TestRuntime, until } from "./push-helpers.ts";

const ELASTIC = sampleLines("elastic-apache-combined.log");
const COMBINED = /^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" \d{3} (?:\d+|-) "[^"]*" "[^"]*"$/;
const TOKEN = "a-test-token-of-some-length";

interface Pushing extends TestRuntime {
  url: string;
  api: ApiServer;
  rec: Recorder;
  done: Promise<void>;
}

const started: Pushing[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    p.rec.hold = null;
    p.abort();
    await p.done.catch(() => {});
    await p.api.close();
  }
});

async function start(overrides: Partial<HttpSourceConfig> = {}, rec = recorder(), token?: string): Promise<Pushing> {
  const dir = mkdtempSync(join(tmpdir(), "logbench-http-"));
  const ctx = { logger: silentLogger, metrics: new MetricsRegistry(), signal: new AbortController().signal };
  const api = await startApi({
    host: "127.0.0.1",
    port: 0,
    token,
    bus: createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 1, fsync: false }, ctx),
    topics: { events: "weblogs", deadLetters: "weblogs.dlq" },
    groups: [],
    archive: createLocalArchive({ type: "local", dir: join(dir, "archive") }, ctx),
    metrics: ctx.metrics,
    logger: silentLogger,
    windows: () => [],
    onWindows: () => () => {},
    health: () => ({ ok: true, problems: [] }),
  });
  const config = httpSource.schema.parse({ type: "http", name: "push", format: "combined", ...overrides });
  const t = runtime(rec, { http: api.ingest });
  const done = createHttpSource(config, t.rt).run();
  const p = { ...t, url: `${api.url}/api/ingest/${config.name}`, api, rec, done };
  started.push(p);
  return p;
}

async function post(url: string, body: string, type = "text/plain", headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body, headers: { "Content-Type": type, ...headers } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("http push source", () => {
  it("answers with the counts once the bus took the lines, text/plain and NDJSON alike", async () => {
    const p = await start();
    const lines = ELASTIC.slice(0, 2000);
    const good = lines.filter((l) => COMBINED.test(l));
    const half = 1000;
    const a = await post(p.url, `${lines.slice(0, half).join("\n")}\nnot a log line\n`);
    const ndjson = lines.slice(half).map((l, i) => JSON.stringify(i % 2 ? { line: l } : { message: l, extra: 1 }));
    ndjson.push('{"msg": "no line field"}', "[1,2]", "{broken json");
    const b = await post(p.url, `${ndjson.join("\n")}`, "application/x-ndjson; charset=utf-8");
    expect(a).toEqual({ status: 200, body: { events: half, deadLetters: 1 } });
    expect(b).toEqual({ status: 200, body: { events: lines.length - half, deadLetters: 3 } });
    expect(p.rec.events.map((e) => e.raw).sort()).toEqual([...good].sort());
    expect(p.rec.dead.map((d) => d.reason)).toEqual([
      expect.any(String),
      'NDJSON record without a string "line" or "message" field',
      'NDJSON record without a string "line" or "message" field',
      expect.stringMatching(/^not a JSON object: /),
    ]);
    expect(p.rec.dead[0]!.raw).toBe("not a log line");
    expect(p.rec.dead[0]!.file).toMatch(/^http:\/\/127\.0\.0\.1\/api\/ingest\/push$/);
  });

  it("with format json takes each NDJSON record itself", async () => {
    const p = await start({ format: "json" });
    const records = [
      { time: "1995-07-01T00:00:01Z", remote_addr: "h1", method: "GET", path: "/a", status: 200, bytes: 5 },
      { time: "1995-07-01T00:00:02Z", remote_addr: "h2", method: "POST", path: "/b", status: 404, bytes: 0 },
    ];
    const body = `${records.map((r) => JSON.stringify(r)).join("\n")}\n"just a string"\n`;
    expect(await post(p.url, body, "application/x-ndjson")).toEqual({
      status: 200,
      body: { events: 2, deadLetters: 1 },
    });
    expect(p.rec.events.map((e) => [e.host, e.status])).toEqual([
      ["h1", 200],
      ["h2", 404],
    ]);
  });

  it("does not answer before the bus acknowledged; answers 503 (retry) when it fails", async () => {
    let release!: () => void;
    const rec = recorder();
    rec.hold = new Promise((r) => {
      release = r;
    });
    const p = await start({}, rec);
    let answered = false;
    const pending = post(p.url, `${ELASTIC[0]}\n`).then((r) => {
      answered = true;
      return r;
    });
    await until("the batch handed to the bus", () => rec.batches === 1);
    expect(answered).toBe(false);
    release();
    rec.hold = null;
    expect(await pending).toEqual({ status: 200, body: { events: 1, deadLetters: 0 } });
    rec.failWith = new Error("bus down for good");
    const failed = await post(p.url, `${ELASTIC[1]}\n`);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatch(/bus down for good.*retry the request/);
  });

  it("refuses what it cannot take, with a body that says what to do", async () => {
    const p = await start({ maxBodyBytes: 1000 }, recorder(), TOKEN);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const unauthorised = await post(p.url, `${ELASTIC[0]}\n`);
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.body.error).toMatch(/bearer token/);
    const big = await post(p.url, `${ELASTIC.slice(0, 20).join("\n")}\n`, "text/plain", auth);
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/maxBodyBytes \(1000 bytes\): nothing was taken; send it in smaller requests/);
    const json = await post(p.url, "{}", "application/json", auth);
    expect(json.status).toBe(415);
    expect(json.body.error).toMatch(/"application\/json": send text\/plain .* or application\/x-ndjson/);
    const get = await fetch(p.url, { headers: auth });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const unknown = await post(`${p.api.url}/api/ingest/nope`, "x\n", "text/plain", auth);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/no http source named "nope" \(configured: push\)/);
    expect(p.rec.events.length + p.rec.dead.length).toBe(0);
    expect(await post(p.url, `${ELASTIC[0]}\n`, "text/plain", auth)).toEqual({
      status: 200,
      body: { events: 1, deadLetters: 0 },
    });
  });

  it("finishes requests in flight when stopping and refuses new ones with 503", async () => {
    let release!: () => void;
    const rec = recorder();
    rec.hold = new Promise((r) => {
      release = r;
    });
    const p = await start({}, rec);
    const inFlight = post(p.url, `${ELASTIC.slice(0, 3).join("\n")}\n`);
    await until("the batch handed to the bus", () => rec.batches === 1);
    p.abort();
    const late = await post(p.url, `${ELASTIC[5]}\n`);
    expect(late.status).toBe(503);
    expect(late.body.error).toMatch(/stopping: retry/);
    release();
    expect(await inFlight).toEqual({ status: 200, body: { events: 3, deadLetters: 0 } });
    await p.done;
    expect((await post(p.url, "x\n")).status).toBe(404);
  });

  it("cannot be created without the API", () => {
    const config = httpSource.schema.parse({ type: "http", name: "push" });
    expect(() => createHttpSource(config, runtime(recorder()).rt)).toThrow(
      'the http source "push" is served by the daemon\'s API, which is disabled: set api.enabled: true',
    );
  });
});
