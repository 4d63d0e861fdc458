import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Context, createLogger, MetricsRegistry, silentContext } from "../../../connectors/context.ts";
import type { LogbenchError } from "../../../connectors/errors.ts";
import { influxV2Schema } from "../../../connectors/influxdb/config.ts";
import { createInfluxV2Store } from "../../../connectors/influxdb/v2.ts";
import type { SeriesPoint } from "../../../connectors/types.ts";
import { seriesStoreContract } from "../../contracts/series-store.ts";
import { type InfluxV2Double, startInfluxV2Double } from "../../servers/influxdb/v2-double.ts";

const T0 = Date.UTC(1995, 6, 1);
const doubles: InfluxV2Double[] = [];
afterEach(async () => {
  while (doubles.length) await doubles.pop()!.close();
});

async function double(opts?: Parameters<typeof startInfluxV2Double>[0]): Promise<InfluxV2Double> {
  const d = await startInfluxV2Double(opts);
  doubles.push(d);
  return d;
}

const config = (d: InfluxV2Double, overrides: Record<string, unknown> = {}) =>
  influxV2Schema.parse({ type: "influxdb-v2", url: d.url, org: d.org, bucket: d.bucket, token: d.token, ...overrides });

function recordingContext(): { ctx: Context; lines: string[]; metrics: MetricsRegistry } {
  const lines: string[] = [];
  const metrics = new MetricsRegistry();
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  return { ctx: { ...silentContext(), logger, metrics }, lines, metrics };
}

async function failure(p: Promise<unknown>): Promise<LogbenchError> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: LogbenchError) => e,
  );
}

const point = (
  fields: Record<string, number | string>,
  time = T0,
  tags: Record<string, string> = { window: "60s", source: "nasa" },
): SeriesPoint => ({ measurement: "requests", tags, fields, time });

seriesStoreContract("influxdb 2.x (recording double)", async () => {
  const d = await startInfluxV2Double();
  return { store: createInfluxV2Store(config(d), silentContext()), cleanup: () => d.close() };
});

describe("InfluxDB 2.x requests, checked exactly", () => {
  it("writes line protocol to /api/v2/write with org, bucket, precision=ms and the token header", async () => {
    const d = await double({ token: "tok-abcdef-123456", org: "acme", bucket: "weblogs" });
    const store = createInfluxV2Store(config(d), silentContext());
    await store.write([
      point({ count: 3, bytes: 2048, ratio: 0.5 }, T0),
      point({ value: 'GET "/a b"', count: 1 }, T0 + 60_000, { window: "60s", rank: "1" }),
    ]);
    expect(d.requests).toHaveLength(1);
    const req = d.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/api/v2/write");
    expect(req.query).toEqual({ org: "acme", bucket: "weblogs", precision: "ms" });
    expect(req.headers.authorization).toBe("Token tok-abcdef-123456");
    expect(req.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(req.body).toBe(
      "requests,source=nasa,window=60s bytes=2048i,count=3i,ratio=0.5 804556800000\n" +
        'requests,rank=1,window=60s count=1i,value="GET \\"/a b\\"" 804556860000',
    );
    expect(req.status).toBe(204);
  });

  it("queries with Flux range/filter/pivot on /api/v2/query?org= and reads the annotated CSV back", async () => {
    const d = await double({ org: "acme", bucket: "weblogs" });
    const store = createInfluxV2Store(config(d), silentContext());
    await store.write([point({ count: 3 }, T0), point({ count: 4 }, T0 + 60_000)]);
    const got = await store.query({ measurement: "requests", from: T0, to: T0 + 60_000, tags: { source: "nasa" } });
    expect(got).toEqual([point({ count: 3 }, T0)]);
    const req = d.requests[1]!;
    expect(req.path).toBe("/api/v2/query");
    expect(req.query).toEqual({ org: "acme" });
    expect(req.headers.authorization).toBe(`Token ${d.token}`);
    const body = JSON.parse(req.body) as { query: string; dialect: { annotations: string[] } };
    expect(body.query).toBe(
      'from(bucket: "weblogs")\n' +
        '  |> range(start: time(v: "1995-07-01T00:00:00.000Z"), stop: time(v: "1995-07-01T00:01:00.000Z"))\n' +
        '  |> filter(fn: (r) => r._measurement == "requests" and r["source"] == "nasa")\n' +
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
    );
    expect(body.dialect.annotations).toEqual(["datatype", "group", "default"]);
    expect(req.status).toBe(200);
  });

  it("splits 12,000 points into requests of 5,000 lines, gzip-compressed as the client does", async () => {
    const d = await double();
    const store = createInfluxV2Store(config(d), silentContext());
    const points = Array.from({ length: 12_000 }, (_, i) => point({ count: i }, T0 + i * 60_000));
    await store.write(points);
    expect(d.requests.map((r) => r.body.split("\n").length)).toEqual([5000, 5000, 2000]);
    expect(d.requests.every((r) => r.headers["content-encoding"] === "gzip")).toBe(true);
    expect(d.requests[2]!.body.split("\n").at(-1)).toBe(
      `requests,source=nasa,window=60s count=11999i ${T0 + 11_999 * 60_000}`,
    );
  });

  it("resolves write only once the server accepted it, retrying 503, and sends nothing afterwards", async () => {
    const d = await double();
    const { ctx, metrics } = recordingContext();
    const store = createInfluxV2Store(config(d), ctx);
    d.failNext(503, 2, { "retry-after": "0" });
    await store.write([point({ count: 1 })]);
    expect(d.requests.map((r) => r.status)).toEqual([503, 503, 204]);
    expect(new Set(d.requests.map((r) => r.body)).size).toBe(1);
    expect(metrics.get("logbench_series_retries_total", { store: "influxdb-v2", code: "UNAVAILABLE" })).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(d.requests).toHaveLength(3); // no background flush or retry buffer left behind
  });

  it("waits Retry-After on 429 before retrying", async () => {
    const d = await double();
    const store = createInfluxV2Store(config(d), silentContext());
    d.failNext(429, 1, { "retry-after": "1" });
    const started = Date.now();
    await store.write([point({ count: 1 })]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(d.requests.map((r) => r.status)).toEqual([429, 204]);
  });

  it("maps 401 to PERMISSION, 404 to NOT_FOUND, 422 field type conflict to BAD_REQUEST, none retried", async () => {
    const d = await double();
    const wrongToken = createInfluxV2Store(config(d, { token: "not-the-token" }), silentContext());
    const e401 = await failure(wrongToken.write([point({ count: 1 })]));
    expect([e401.code, e401.retryable]).toEqual(["PERMISSION", false]);
    expect(e401.message).toContain("unauthorized access");

    const wrongBucket = createInfluxV2Store(config(d, { bucket: "nope" }), silentContext());
    const e404 = await failure(wrongBucket.write([point({ count: 1 })]));
    expect(e404.code).toBe("NOT_FOUND");
    expect(e404.message).toContain('bucket "nope" not found');

    const store = createInfluxV2Store(config(d), silentContext());
    await store.write([point({ count: 1 })]);
    const e422 = await failure(store.write([point({ count: 1.5 }, T0 + 60_000)]));
    expect([e422.code, e422.retryable]).toEqual(["BAD_REQUEST", false]);
    expect(e422.message).toMatch(/field type conflict/);
    expect(d.requests.map((r) => r.status)).toEqual([401, 404, 204, 422]);
  });

  it("never puts the token in an error message or a log line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "logbench-v2-token-"));
    const token = "tok-SECRET-5f1c24e6309728b4";
    await writeFile(join(dir, "token"), `${token}\n`);
    const d = await double({ token });
    const { ctx, lines } = recordingContext();
    const store = createInfluxV2Store(config(d, { token: undefined, tokenFile: join(dir, "token") }), ctx);
    await store.write([point({ count: 1 })]);
    expect(d.requests[0]!.headers.authorization).toBe(`Token ${token}`);

    // A proxy that echoes the credentials it got, after a retried 503.
    d.failNext(503, 1, { "retry-after": "0" }, `overloaded, token ${token}`);
    d.failNext(401, 1, {}, `token ${token} is unauthorized`);
    const echoed = await failure(store.write([point({ count: 2 })]));
    expect(echoed.code).toBe("PERMISSION");
    expect(echoed.message).toContain("token *** is unauthorized");

    await d.close();
    const refused = await failure(
      createInfluxV2Store(config(d, { token: undefined, tokenFile: join(dir, "token"), maxRetries: 0 }), ctx).write([
        point({ count: 1 }),
      ]),
    );
    expect(refused.code).toBe("UNAVAILABLE");
    for (const err of [echoed, refused]) {
      expect(err.message).not.toContain(token);
      expect(JSON.stringify(err.details ?? {})).not.toContain(token);
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(token);
    await rm(dir, { recursive: true, force: true });
  });

  it("fails CONFIG without a token, before sending anything", async () => {
    const d = await double();
    const store = createInfluxV2Store(config(d, { token: undefined }), silentContext());
    expect((await failure(store.write([point({ count: 1 })]))).code).toBe("CONFIG");
    expect(d.requests).toHaveLength(0);
  });

  it("answers /ping and /health like InfluxDB 2", async () => {
    const d = await double();
    expect((await fetch(`${d.url}/ping`)).status).toBe(204);
    const health = await fetch(`${d.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe("pass");
  });

  it("refuses Flux outside the shapes it implements instead of guessing", async () => {
    const d = await double();
    const res = await fetch(`${d.url}/api/v2/query?org=${d.org}`, {
      method: "POST",
      headers: { authorization: `Token ${d.token}`, "content-type": "application/vnd.flux" },
      body: `from(bucket: "${d.bucket}") |> range(start: -1h) |> mean()`,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid");
    expect(body.message).toMatch(/unsupported pipeline/);
  });
});
