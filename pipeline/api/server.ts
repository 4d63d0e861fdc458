/**
 * The daemon's HTTP API. Listens on 127.0.0.1 unless configured otherwise (then a bearer token is required,
 * which the config loader enforces). Routes:
 *   GET /healthz                 200 {"status":"ok"} or 503 with the failing stage
 *   GET /metrics                 Prometheus text: per-stage received/sent/errors, dead letters, consumer lag
 *   GET /api/status              {eventsPerSec, deadLetters, consumerLag, newestArchivePartition, …}
 *   GET /api/windows?limit=N     {"windows": WindowSummary[]} newest first
 *   GET /api/windows/stream      the same as Server-Sent Events, one "windows" event per flush
 *   GET /api/alerts              {"alerts": FiringAlert[]} the alert rules firing now (pipeline/alerts)
 *   GET /api/stream.arrow?from=-15m[&to=…][&limit=…]   LogEvents that reached the bus in that time, Arrow IPC stream
 *   *   /api/ingest/<name>      handed to the push source of that name (`http` source: POST lines)
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger, MetricsRegistry } from "../../connectors/context.ts";
import { isLogbenchError, LogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore, Bus } from "../../connectors/types.ts";
import type { FiringAlert } from "../alerts/engine.ts";
import type { HttpHandler, HttpRoutes } from "../ingest/source.ts";
import { decodeEvent } from "../model/decode-event.ts";
import type { WindowSummary } from "../model/window.ts";
import { type ProcessMetrics, startProcessMetrics } from "../observe/process-metrics.ts";
import { renderPrometheus } from "../observe/prometheus.ts";
import { eventsToArrow } from "./arrow.ts";
import { consumerLag, newestArchivePartition, RateMeter, sumMetric } from "./status.ts";

export interface ApiDeps {
  host: string;
  port: number;
  token?: string | undefined;
  bus: Bus;
  topics: { events: string; deadLetters: string };
  groups: string[];
  archive: ArchiveStore;
  metrics: MetricsRegistry;
  logger: Logger;
  windows: () => WindowSummary[];
  onWindows: (listener: (w: WindowSummary[]) => void) => () => void;
  health: () => { ok: boolean; problems: string[] };
  /** Alert rules firing now; none when the daemon has no rules. */
  alerts?: () => FiringAlert[];
}

export interface ApiServer {
  url: string;
  /** Where push sources register `/api/ingest/<name>` (given to sources as `SourceRuntime.http`). */
  ingest: HttpRoutes;
  close(): Promise<void>;
}

const INGEST_PREFIX = "/api/ingest/";
/** How long close() lets requests under way finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;

export async function startApi(deps: ApiDeps): Promise<ApiServer> {
  const rate = new RateMeter(() => sumMetric(deps.metrics, "logbench_ingest_events_total"));
  const sse = new Set<ServerResponse>();
  const ingest = new Map<string, HttpHandler>();
  const unsubscribe = deps.onWindows((windows) => {
    const frame = `event: windows\ndata: ${JSON.stringify({ windows })}\n\n`;
    for (const res of sse) res.write(frame);
  });

  let closing = false;
  /** Started once the server listens (a daemon that cannot bind leaves no observers running). */
  let processMetrics: ProcessMetrics | null = null;
  const server: Server = createServer((req, res) => {
    // Once closing, every answer ends its connection: Node keeps serving requests on a kept-alive socket after
    // server.close(), and a client polling within the keep-alive timeout (the live page, every 2 s, once its
    // stream has ended) kept the daemon from ever exiting.
    if (closing) res.shouldKeepAlive = false;
    handle(req, res).catch((err) => {
      deps.logger.warn("An API request failed.", { path: req.url, err });
      if (!res.headersSent)
        json(res, isLogbenchError(err, "BAD_REQUEST") ? 400 : 500, { error: String((err as Error).message) });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Allow-Headers", "Authorization");
    if (req.method === "OPTIONS") return void res.writeHead(204).end();
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/healthz" && !authorised(req, deps.token))
      return json(res, 401, { error: "missing or wrong bearer token" });
    if (url.pathname.startsWith(INGEST_PREFIX)) {
      const name = safeDecode(url.pathname.slice(INGEST_PREFIX.length));
      const handler = ingest.get(name);
      if (handler) return handler(req, res);
      const known = [...ingest.keys()].join(", ") || "none";
      return json(res, 404, {
        error: `no http source named "${name}" (configured: ${known}); add {type: http, name: ${name}} to sources`,
      });
    }
    if (req.method !== "GET") return json(res, 405, { error: "only GET" });
    switch (url.pathname) {
      case "/healthz": {
        const h = deps.health();
        return json(res, h.ok ? 200 : 503, { status: h.ok ? "ok" : "failing", problems: h.problems });
      }
      case "/metrics": {
        const lag = await consumerLag(deps.bus, deps.topics.events, deps.groups).catch(() => null);
        if (lag)
          for (const [group, value] of Object.entries(lag)) deps.metrics.set("logbench_consumer_lag", { group }, value);
        deps.metrics.describe(
          "logbench_consumer_lag",
          "gauge",
          "Offsets on the bus past the group's commits (messages on Kafka; bytes on the local bus, whose offsets are byte positions)",
        );
        processMetrics?.sample();
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
        return void res.end(renderPrometheus(deps.metrics));
      }
      case "/api/status": {
        const [lag, newest] = await Promise.all([
          consumerLag(deps.bus, deps.topics.events, deps.groups).catch(() => null),
          newestArchivePartition(deps.archive, deps.topics.events).catch(() => null),
        ]);
        return json(res, 200, {
          eventsPerSec: rate.perSecond(),
          events: sumMetric(deps.metrics, "logbench_ingest_events_total"),
          deadLetters: sumMetric(deps.metrics, "logbench_ingest_dead_letters_total"),
          archived: sumMetric(deps.metrics, "logbench_archive_sent_total"),
          lateEvents: sumMetric(deps.metrics, "logbench_aggregate_late_total"),
          consumerLag: lag,
          newestArchivePartition: newest,
          time: Date.now(),
        });
      }
      case "/api/windows":
        return json(res, 200, { windows: deps.windows().slice(0, intParam(url, "limit", 30)) });
      case "/api/alerts":
        return json(res, 200, { alerts: deps.alerts?.() ?? [] });
      case "/api/windows/stream": {
        // A stream opened now would get no updates (unsubscribed) and hold the close for its whole grace; its
        // headers would also say keep-alive, which overrides the closing answer's Connection: close.
        if (closing)
          return json(res, 503, { error: "the daemon is stopping: reconnect to it once it has started again" });
        res.writeHead(200, {
          "Content-Type": "text/event-stream",
          "Cache-Control": "no-cache",
          Connection: "keep-alive",
        });
        res.write(`event: windows\ndata: ${JSON.stringify({ windows: deps.windows() })}\n\n`);
        sse.add(res);
        req.on("close", () => sse.delete(res));
        return;
      }
      case "/api/stream.arrow": {
        const now = Date.now();
        const from = timeParam(url.searchParams.get("from") ?? "-15m", now);
        const to = timeParam(url.searchParams.get("to") ?? "now", now) + 1;
        const limit = intParam(url, "limit", 1_000_000);
        const messages = await deps.bus.readWindow(deps.topics.events, { from, to, limit });
        const events = messages.flatMap((m) => {
          const decoded = decodeEvent(m);
          return "event" in decoded ? [decoded.event] : [];
        });
        res.writeHead(200, {
          "Content-Type": "application/vnd.apache.arrow.stream",
          "X-Logbench-Rows": String(events.length),
        });
        return void res.end(eventsToArrow(events));
      }
      default:
        return json(res, 404, { error: `no route ${url.pathname}` });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new LogbenchError(
              "UNAVAILABLE",
              `api: ${deps.host}:${deps.port} is already in use (another logbench running?): stop it, or set api.port in the config`,
              { cause: err, retryable: false },
            )
          : err,
      ),
    );
    server.listen(deps.port, deps.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  processMetrics = startProcessMetrics(deps.metrics);
  return {
    url: `http://${host}:${address.port}`,
    ingest: {
      route(name, handler) {
        if (ingest.has(name)) throw new LogbenchError("CONFIG", `two http sources are named "${name}"`);
        ingest.set(name, handler);
        return () => ingest.delete(name);
      },
    },
    async close() {
      closing = true;
      unsubscribe();
      rate.stop();
      processMetrics?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of sse) {
        // A stream's headers promised keep-alive: end its connection too, or a client's next request reuses it.
        const socket = res.socket;
        res.end(() => socket?.end());
      }
      // A request still being answered gets CLOSE_GRACE_MS to finish; then its connection is cut.
      const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      try {
        await closed;
      } finally {
        clearTimeout(grace);
      }
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function authorised(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(req.headers.authorization?.replace(/^Bearer\s+/i, "") ?? "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function intParam(url: URL, name: string, fallback: number): number {
  const v = Number.parseInt(url.searchParams.get(name) ?? "", 10);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** "-15m", "-2h", "now", an epoch ms number, or an ISO date. */
export function timeParam(text: string, now: number): number {
  if (text === "now") return now;
  const rel = /^-(\d+)(s|m|h|d)$/.exec(text);
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as "s"];
  if (/^\d+$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new LogbenchError("BAD_REQUEST", `bad time "${text}": use -15m, now, epoch ms or an ISO date`);
  return t;
}
