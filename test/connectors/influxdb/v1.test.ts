import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createLogger, type Logger, MetricsRegistry, silentContext } from "../../../connectors/context.ts";
import type { LogbenchError } from "../../../connectors/errors.ts";
import { influxV1Schema } from "../../../connectors/influxdb/config.ts";
import { createInfluxV1Store } from "../../../connectors/influxdb/v1.ts";
import type { SeriesPoint } from "../../../connectors/types.ts";
import { seriesStoreContract } from "../../contracts/series-store.ts";

const influxUrl = inject("influxV1Url");
// Each test file owns its databases: this prefix, a counter, and a drop afterwards.
const DB_PREFIX = `lb_v1_test_${process.pid}_${Date.now().toString(36)}`;
let dbCount = 0;

async function influxql(q: string, method = "POST"): Promise<unknown> {
  const res = await fetch(`${influxUrl}/query?${new URLSearchParams({ q })}`, { method });
  return res.json();
}

const config = (overrides: Record<string, unknown>) =>
  influxV1Schema.parse({ type: "influxdb-v1", url: influxUrl, ...overrides });

const point = (fields: Record<string, number>, time = Date.UTC(1995, 6, 1)): SeriesPoint => ({
  measurement: "requests",
  tags: { window: "60s", source: "nasa" },
  fields,
  time,
});

async function failure(p: Promise<unknown>): Promise<LogbenchError> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: LogbenchError) => e,
  );
}

seriesStoreContract("influxdb 1.x (influxd 1.6)", async () => {
  const database = `${DB_PREFIX}_${++dbCount}`;
  return {
    store: createInfluxV1Store(config({ database }), silentContext()),
    cleanup: async () => {
      await influxql(`DROP DATABASE "${database}"`);
    },
  };
});

describe("InfluxDB 1.x answers mapped to errors (real influxd)", () => {
  it("creates the database at first use and writes with precision=ms", async () => {
    const database = `${DB_PREFIX}_created`;
    const store = createInfluxV1Store(config({ database }), silentContext());
    await store.write([point({ count: 3 }, Date.UTC(1995, 6, 1, 0, 1))]);
    const raw = (await influxql(`SELECT count FROM "${database}".."requests"`, "GET")) as {
      results: Array<{ series: Array<{ values: unknown[][] }> }>;
    };
    expect(raw.results[0]!.series[0]!.values).toEqual([["1995-07-01T00:01:00Z", 3]]);
    await influxql(`DROP DATABASE "${database}"`);
  });

  it("reports a field type conflict as BAD_REQUEST and does not retry it", async () => {
    const database = `${DB_PREFIX}_conflict`;
    const ctx = { ...silentContext(), metrics: new MetricsRegistry() };
    const store = createInfluxV1Store(config({ database }), ctx);
    await store.write([point({ count: 1 })]);
    const err = await failure(store.write([point({ count: 1.5 }, Date.UTC(1995, 6, 1, 0, 1))]));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/field type conflict/);
    expect(ctx.metrics.get("logbench_series_requests_total", { store: "influxdb-v1", status: "400" })).toBe(1);
    expect(ctx.metrics.get("logbench_series_retries_total", { store: "influxdb-v1", code: "BAD_REQUEST" })).toBe(0);
    await influxql(`DROP DATABASE "${database}"`);
  });

  it("reports a missing database as NOT_FOUND when it may not create it", async () => {
    const store = createInfluxV1Store(
      config({ database: `${DB_PREFIX}_missing`, createDatabase: false }),
      silentContext(),
    );
    expect((await failure(store.write([point({ count: 1 })]))).code).toBe("NOT_FOUND");
    expect((await failure(store.query({ measurement: "requests" }))).code).toBe("NOT_FOUND");
  });

  it("reports a refused connection as UNAVAILABLE (retryable)", async () => {
    const closed = await stub([]);
    await closed.close();
    const store = createInfluxV1Store(config({ url: closed.url, maxRetries: 0 }), silentContext());
    const err = await failure(store.write([point({ count: 1 })]));
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.retryable).toBe(true);
  });
});

interface StubAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}
interface StubRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A tiny InfluxDB 1.x stand-in answering /write with the scripted answers, then 204. */
async function stub(answers: StubAnswer[]): Promise<{ url: string; requests: StubRequest[]; close(): Promise<void> }> {
  const requests: StubRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    const answer = answers.shift() ?? { status: 204 };
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    res.end(answer.body ?? "");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

describe("InfluxDB 1.x retries (local HTTP stub)", () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  const storeOn = async (answers: StubAnswer[], overrides: Record<string, unknown> = {}, logger?: Logger) => {
    const s = await stub(answers);
    servers.push(s);
    const ctx = { ...silentContext(), metrics: new MetricsRegistry(), ...(logger ? { logger } : {}) };
    const store = createInfluxV1Store(config({ url: s.url, createDatabase: false, ...overrides }), ctx);
    return { s, ctx, store };
  };
  const unavailable = { status: 503, body: '{"error":"timeout"}', headers: { "retry-after": "1" } };

  it("retries 503 after Retry-After and sends the same line protocol again", async () => {
    const { s, ctx, store } = await storeOn([unavailable]);
    const started = Date.now();
    await store.write([point({ count: 2, bytes: 512 })]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(s.requests).toHaveLength(2);
    expect(s.requests[1]!.body).toBe(s.requests[0]!.body);
    expect(s.requests[0]!.body).toBe("requests,source=nasa,window=60s bytes=512i,count=2i 804556800000");
    expect(s.requests[0]!.url).toBe("/write?db=logbench&precision=ms");
    expect(ctx.metrics.get("logbench_series_retries_total", { store: "influxdb-v1", code: "UNAVAILABLE" })).toBe(1);
  });

  it("sends CREATE DATABASE only when a write finds the database missing, then writes again", async () => {
    const notFound = { status: 404, body: '{"error":"database not found: \\"logbench\\""}' };
    const created = { status: 200, body: '{"results":[{"statement_id":0}]}' };
    const { s, store } = await storeOn([notFound, created], { createDatabase: true });
    await store.write([point({ count: 1 })]);
    await store.write([point({ count: 2 })]);
    expect(s.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /write?db=logbench&precision=ms",
      `POST /query?${new URLSearchParams({ db: "logbench", epoch: "ms", q: 'CREATE DATABASE "logbench"', chunked: "true", chunk_size: "10000" })}`,
      "POST /write?db=logbench&precision=ms",
      "POST /write?db=logbench&precision=ms",
    ]);
  });

  it("retries 429 as THROTTLED after Retry-After", async () => {
    const { s, ctx, store } = await storeOn([
      { status: 429, body: '{"error":"too many requests"}', headers: { "retry-after": "1" } },
    ]);
    const started = Date.now();
    await store.write([point({ count: 2 })]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(s.requests).toHaveLength(2);
    expect(ctx.metrics.get("logbench_series_retries_total", { store: "influxdb-v1", code: "THROTTLED" })).toBe(1);
  });

  it("gives up after maxRetries with a retryable UNAVAILABLE", async () => {
    const answer = { status: 503, body: '{"error":"engine: cache maximum memory size exceeded"}' };
    const { s, store } = await storeOn([answer, answer, answer, answer], { maxRetries: 2 });
    const err = await failure(store.write([point({ count: 1 })]));
    expect(s.requests).toHaveLength(3);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/HTTP 503: engine: cache maximum memory size exceeded/);
  });

  it("hands a Retry-After longer than it will sleep back to the caller", async () => {
    const { s, store } = await storeOn([{ status: 429, body: "{}", headers: { "retry-after": "120" } }]);
    const err = await failure(store.write([point({ count: 1 })]));
    expect(s.requests).toHaveLength(1);
    expect(err.code).toBe("THROTTLED");
    expect(err.retryAfterMs).toBe(120_000);
  });

  it("sends Basic credentials from passwordFile, maps 401 to PERMISSION, never shows the password", async () => {
    const dir = await mkdtemp(join(tmpdir(), "logbench-v1-secret-"));
    const secret = "s3cr3t-Pa55word";
    await writeFile(join(dir, "password"), `${secret}\n`);
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
    // The stub echoes the password in its error, as a careless proxy might.
    const echo = { status: 401, body: JSON.stringify({ error: `authorization failed for password ${secret}` }) };
    const { s, store } = await storeOn(
      [{ status: 503, body: "{}" }, echo],
      { username: "logbench", passwordFile: join(dir, "password") },
      logger,
    );
    const err = await failure(store.write([point({ count: 1 })]));
    expect(s.requests).toHaveLength(2);
    expect(s.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`logbench:${secret}`).toString("base64")}`);
    expect(s.requests[0]!.url).not.toContain(secret);
    expect(err.code).toBe("PERMISSION");
    expect(err.message).toContain("authorization failed for password ***");
    expect(err.message).not.toContain(secret);
    expect(lines.length).toBeGreaterThan(0); // the 503 retry was logged…
    expect(lines.join("\n")).not.toContain(secret); // …without the secret
    await rm(dir, { recursive: true, force: true });
  });
});
