/**
 * A recording HTTP double of the InfluxDB 2.x API, for the v2 series store (no InfluxDB 2 can be installed
 * here). Reference: https://docs.influxdata.com/influxdb/v2/api/ (PostWrite, PostQuery, GetPing, GetHealth).
 *
 * What it checks, on every request, the way the API documents it:
 *   - `Authorization: Token <token>` exactly, else 401 {"code":"unauthorized","message":"unauthorized access"};
 *   - POST /api/v2/write: `org` and `bucket` query parameters (missing → 400, unknown → 404 with the v2 error
 *     JSON), `precision` ∈ ns|us|ms|s (default ns), Content-Encoding gzip|identity, Content-Type text/plain;
 *     the body is parsed as line protocol by its grammar (first bad line → 400 {"code":"invalid",…,"line":n}),
 *     field types are fixed per measurement on first write (a clash drops those points and answers 422
 *     "partial write: field type conflict …", as OSS 2.7 does); the rest is stored, same series + time merges
 *     fields; success is 204 with no body;
 *   - POST /api/v2/query?org=: JSON {query, dialect} or application/vnd.flux, answered with annotated CSV
 *     (annotations as the dialect asks) computed from what was written — for the two query shapes of
 *     v2-double-flux.ts only; any other Flux gets 400, never a guess;
 *   - GET /ping → 204, GET /health → 200 {"status":"pass",…}.
 * Every request is recorded (method, path, query, headers, decoded body, status) for exact assertions, and
 * `failNext` makes the next API requests fail with a chosen status, headers and message.
 *
 * What it cannot prove (it is not InfluxDB): the Flux engine (only the two shapes above; no other function,
 * no type coercion, no query planning), storage engine behaviour (retention, shard boundaries, compaction,
 * cardinality limits, eventual consistency on Cloud), exact float formatting of CSV output (JS's instead of
 * Go's), organisation/bucket lookup by ID, authorisation scopes beyond one all-powerful token, gzip in
 * responses, and the wording of server messages beyond the documented examples.
 */
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { Bucket, LineProtocolError, type ParsedLine, parseLine } from "./v2-double-engine.ts";
import { planFlux, runFlux, UnsupportedFlux } from "./v2-double-flux.ts";

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. /api/v2/write */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Request body as text, after gunzip when Content-Encoding was gzip. */
  body: string;
  /** Status the double answered. */
  status: number;
}

export interface InfluxV2Double {
  url: string;
  token: string;
  org: string;
  bucket: string;
  requests: RecordedRequest[];
  /** The next `times` requests to /api/v2/* answer `status` with the v2 error JSON (and these headers). */
  failNext(status: number, times?: number, headers?: Record<string, string>, message?: string): void;
  close(): Promise<void>;
}

const V2_CODES: Record<number, string> = {
  400: "invalid",
  401: "unauthorized",
  403: "forbidden",
  404: "not found",
  405: "method not allowed",
  413: "request too large",
  415: "unsupported media type",
  422: "unprocessable entity",
  429: "too many requests",
  500: "internal error",
  503: "unavailable",
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startInfluxV2Double(
  opts: { token?: string; org?: string; bucket?: string } = {},
): Promise<InfluxV2Double> {
  const token = opts.token ?? "logbench-test-token-0123456789";
  const org = opts.org ?? "logbench";
  const bucketName = opts.bucket ?? "logbench";
  const bucket = new Bucket();
  const requests: RecordedRequest[] = [];
  const failures: Array<{ status: number; headers: Record<string, string>; message?: string }> = [];

  function authorize(headers: IncomingHttpHeaders) {
    if (headers.authorization !== `Token ${token}`) throw new ApiError(401, "unauthorized access");
  }
  function checkOrg(query: Record<string, string>, forQuery: boolean) {
    if (!query.org && !query.orgID) throw new ApiError(400, "Please provide either orgID or org");
    const name = query.org ?? query.orgID;
    if (name !== org) {
      if (forQuery) throw new ApiError(400, "failed to decode request body: organization not found");
      throw new ApiError(404, `organization name "${name}" not found`);
    }
  }

  function write(req: RecordedRequest): void {
    if (req.method !== "POST") throw new ApiError(405, "method not allowed");
    authorize(req.headers);
    checkOrg(req.query, false);
    if (!req.query.bucket) throw new ApiError(400, "bucket not found");
    if (req.query.bucket !== bucketName) throw new ApiError(404, `bucket "${req.query.bucket}" not found`);
    const precision = req.query.precision ?? "ns";
    if (!["ns", "us", "ms", "s"].includes(precision)) throw new ApiError(400, "invalid precision");
    const type = req.headers["content-type"];
    if (type && !/^text\/plain\b/.test(type)) throw new ApiError(415, `unsupported content type ${type}`);
    const parsed: ParsedLine[] = [];
    const lines = req.body.split("\n");
    lines.forEach((raw, index) => {
      const line = raw.replace(/\r$/, "");
      if (!line.trim() || line.trimStart().startsWith("#")) return;
      try {
        parsed.push(parseLine(line, precision));
      } catch (err) {
        if (!(err instanceof LineProtocolError)) throw err;
        throw new ApiError(400, `unable to parse '${line}': ${err.message}`, { line: index + 1 });
      }
    });
    if (parsed.length === 0) throw new ApiError(400, "writing requires points");
    const conflicts = bucket.write(parsed, BigInt(Date.now()) * 1_000_000n);
    if (conflicts.length > 0) {
      throw new ApiError(
        422,
        `failure writing points to database: partial write: field type conflict: ${conflicts[0]} dropped=${conflicts.length}`,
      );
    }
  }

  function query(req: RecordedRequest): string {
    if (req.method !== "POST") throw new ApiError(405, "method not allowed");
    authorize(req.headers);
    checkOrg(req.query, true);
    const type = req.headers["content-type"] ?? "";
    let flux: string;
    let annotations: string[] = [];
    if (/^application\/json\b/.test(type)) {
      let spec: {
        query?: unknown;
        type?: unknown;
        dialect?: { header?: boolean; delimiter?: string; annotations?: string[] };
      };
      try {
        spec = JSON.parse(req.body);
      } catch {
        throw new ApiError(400, "failed to decode request body: invalid JSON");
      }
      if (typeof spec.query !== "string") throw new ApiError(400, "failed to decode request body: query is required");
      if (spec.type !== undefined && spec.type !== "flux")
        throw new ApiError(400, `unsupported query type ${spec.type}`);
      if (spec.dialect?.header === false || (spec.dialect?.delimiter ?? ",") !== ",") {
        throw new ApiError(400, "the double only answers CSV with a header and ',' delimiter");
      }
      flux = spec.query;
      annotations = spec.dialect?.annotations ?? [];
    } else if (/^application\/vnd\.flux\b/.test(type)) {
      flux = req.body;
    } else {
      throw new ApiError(415, `unsupported content type ${type}`);
    }
    try {
      const plan = planFlux(flux, BigInt(Date.now()) * 1_000_000n);
      if (plan.bucket !== bucketName)
        throw new ApiError(404, `failed to initialize execute state: could not find bucket "${plan.bucket}"`);
      return runFlux(plan, bucket, annotations);
    } catch (err) {
      if (err instanceof UnsupportedFlux) throw new ApiError(400, `compilation failed: v2 double: ${err.message}`);
      throw err;
    }
  }

  function send(
    res: ServerResponse,
    rec: RecordedRequest,
    status: number,
    body = "",
    headers: Record<string, string> = {},
  ) {
    rec.status = status;
    res.writeHead(status, { "x-influxdb-build": "OSS", "x-influxdb-version": "v2-double", ...headers });
    res.end(body);
  }
  function sendError(res: ServerResponse, rec: RecordedRequest, err: ApiError) {
    const code = V2_CODES[err.status] ?? "internal error";
    const body = JSON.stringify({ code, message: err.message, ...err.extra });
    send(res, rec, err.status, body, {
      "content-type": "application/json; charset=utf-8",
      "x-platform-error-code": code,
      ...err.headers,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://double");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    const rec: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: "",
      status: 0,
    };
    requests.push(rec);
    try {
      const encoding = req.headers["content-encoding"] ?? "identity";
      if (encoding === "gzip") raw = gunzipSync(raw);
      else if (encoding !== "identity") throw new ApiError(415, `unsupported content encoding ${encoding}`);
      rec.body = raw.toString("utf8");
      if (url.pathname === "/ping") return send(res, rec, 204);
      if (url.pathname === "/health") {
        const health = { name: "influxdb", message: "ready for queries and writes", status: "pass", checks: [] };
        return send(res, rec, 200, JSON.stringify({ ...health, version: "v2-double", commit: "none" }), {
          "content-type": "application/json; charset=utf-8",
        });
      }
      if (url.pathname.startsWith("/api/v2/") && failures.length > 0) {
        const f = failures.shift()!;
        throw new ApiError(f.status, f.message ?? `injected failure ${f.status}`, {}, f.headers);
      }
      if (url.pathname === "/api/v2/write") {
        write(rec);
        return send(res, rec, 204);
      }
      if (url.pathname === "/api/v2/query") {
        return send(res, rec, 200, query(rec), { "content-type": "text/csv; charset=utf-8" });
      }
      throw new ApiError(404, "path not found");
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, rec, err);
      return sendError(res, rec, new ApiError(500, `v2 double bug: ${(err as Error).message}`));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.destroy(err);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    org,
    bucket: bucketName,
    requests,
    failNext(status, times = 1, headers = {}, message) {
      for (let i = 0; i < times; i++) failures.push({ status, headers, message });
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
