/** The daemon's HTTP API against a real local bus and archive: what operators and the notebooks read. */
import { mkdtempSync, readFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsRegistry, silentLogger } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import type { Bus } from "../../../connectors/types.ts";
import { type ApiDeps, type ApiServer, startApi } from "../../../pipeline/api/server.ts";
import type { WindowSummary } from "../../../pipeline/model/window.ts";

const TOPICS = { events: "weblogs", deadLetters: "weblogs.dlq" };
let api: ApiServer | null = null;
/** Closed after each test: a bus left open leaves its file handles for the garbage collector to close. */
const buses: Bus[] = [];
afterEach(async () => {
  await api?.close();
  api = null;
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

function event(host: string, path: string) {
  return {
    ts: Date.UTC(1995, 6, 1),
    host,
    ident: null,
    user: null,
    method: "GET",
    path,
    query: null,
    protocol: "HTTP/1.0",
    status: 200,
    bytes: 10,
    referrer: null,
    agent: null,
    source: "t",
  };
}

async function setup(overrides: Partial<ApiDeps> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "logbench-api-"));
  const ctx = { logger: silentLogger, metrics: new MetricsRegistry(), signal: new AbortController().signal };
  const bus = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 3, fsync: false }, ctx);
  buses.push(bus);
  const archive = createLocalArchive({ type: "local", dir: join(dir, "archive") }, ctx);
  const listeners = new Set<(w: WindowSummary[]) => void>();
  const windows: WindowSummary[] = [];
  api = await startApi({
    host: "127.0.0.1",
    port: 0,
    bus,
    topics: TOPICS,
    groups: ["archive"],
    archive,
    metrics: ctx.metrics,
    logger: silentLogger,
    windows: () => windows,
    onWindows: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    health: () => ({ ok: true, problems: [] }),
    ...overrides,
  });
  return { bus, archive, ctx, windows, listeners, url: api.url };
}

describe("HTTP API", () => {
  it("listens on loopback and serves health and Prometheus metrics with consumer lag", async () => {
    const { bus, ctx, url } = await setup();
    expect(new URL(url).hostname).toBe("127.0.0.1");
    await bus.produce(
      TOPICS.events,
      [1, 2, 3].map((i) => ({ key: `h${i}`, value: JSON.stringify(event(`h${i}`, "/")) })),
    );
    ctx.metrics.describe("logbench_ingest_events_total", "counter", "Events put on the bus");
    ctx.metrics.inc("logbench_ingest_events_total", { source: "spool" }, 3);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok", problems: [] });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('logbench_ingest_events_total{source="spool"} 3');
    expect(text).toContain("# TYPE logbench_ingest_events_total counter");
    expect(Number(/logbench_consumer_lag\{group="archive"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(0);
    // Once the group has committed everything, the lag is gone.
    let assigned!: () => void;
    const ready = new Promise<void>((r) => {
      assigned = r;
    });
    const sub = await bus.subscribe({
      topic: TOPICS.events,
      group: "archive",
      onBatch: async () => {},
      onAssigned: async () => assigned(),
    });
    await ready;
    for (const r of await bus.partitions(TOPICS.events)) await sub.commit(r.partition, r.high);
    await sub.stop();
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('logbench_consumer_lag{group="archive"} 0');
  });

  it("serves the process's memory, CPU, garbage collection and event loop delay, as the kernel sees them", async () => {
    const { url } = await setup();
    const value = (text: string, series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      expect(line, series).toBeDefined();
      return Number(line!.slice(series.length + 1));
    };
    // Garbage for the young generation, and the main thread held for 300 ms: both must show in the next scrape.
    let kept = 0;
    for (let i = 0; i < 200_000; i++) kept += { i, s: `x${i}` }.s.length;
    expect(kept).toBeGreaterThan(0);
    // The delay monitor only counts from its second tick (a block right after it starts is not seen): wait first.
    await new Promise((r) => setTimeout(r, 100));
    const busyUntil = performance.now() + 300;
    setTimeout(() => {
      while (performance.now() < busyUntil);
    }, 0);
    await new Promise((r) => setTimeout(r, 350));
    const text = await (await fetch(`${url}/metrics`)).text();
    // The kernel's figures for this process (the server runs in it), read around the scrape.
    const status = readFileSync("/proc/self/status", "utf8");
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    expect(value(text, "process_resident_memory_bytes")).toBeGreaterThan(rss * 0.8);
    expect(value(text, "process_resident_memory_bytes")).toBeLessThan(rss * 1.25);
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of /proc/PID/stat (the 12th and 13th after the name), in 1/100 s.
    const kernelCpu = (Number(fields[11]) + Number(fields[12])) / 100;
    expect(Math.abs(value(text, "process_cpu_seconds_total") - kernelCpu)).toBeLessThan(0.5);
    expect(value(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(value(text, "nodejs_heap_size_used_bytes")).toBeLessThanOrEqual(value(text, "nodejs_heap_size_total_bytes"));
    expect(value(text, 'nodejs_gc_duration_seconds_total{kind="minor"}')).toBeGreaterThan(0);
    expect(value(text, "nodejs_eventloop_lag_max_seconds")).toBeGreaterThan(0.2);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    // The delay histogram starts again at each scrape: the held loop is not counted twice.
    await new Promise((r) => setTimeout(r, 100));
    expect(value(await (await fetch(`${url}/metrics`)).text(), "nodejs_eventloop_lag_max_seconds")).toBeLessThan(0.2);
  });

  it("serves the stream's last minutes as Arrow with every LogEvent column", async () => {
    const { bus, url } = await setup();
    await bus.produce(TOPICS.events, [
      { key: "a", value: JSON.stringify(event("a", "/old")), timestamp: Date.now() - 3_600_000 },
      { key: "b", value: JSON.stringify(event("b", "/new")), timestamp: Date.now() - 1_000 },
      { key: "c", value: JSON.stringify(event("c", "/new2")), timestamp: Date.now() - 500 },
    ]);
    const res = await fetch(`${url}/api/stream.arrow?from=-15m`);
    expect(res.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
    const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    expect(table.numRows).toBe(2);
    expect(table.schema.fields.map((f) => f.name)).toEqual([
      "ts",
      "host",
      "ident",
      "user",
      "method",
      "path",
      "query",
      "protocol",
      "status",
      "bytes",
      "referrer",
      "agent",
      "source",
    ]);
    expect(table.getChild("path")!.toArray().sort()).toEqual(["/new", "/new2"]);
  });

  it("streams window updates over SSE as they are flushed", async () => {
    const { listeners, windows, url } = await setup();
    const res = await fetch(`${url}/api/windows/stream`);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const first = decoder.decode((await reader.read()).value);
    expect(first).toBe('event: windows\ndata: {"windows":[]}\n\n');
    const w = { start: 0, end: 60_000, window: "60s", count: 7 } as WindowSummary;
    windows.push(w);
    for (const l of listeners) l(windows);
    const second = decoder.decode((await reader.read()).value);
    expect(JSON.parse(second.split("data: ")[1]!)).toEqual({ windows: [w] });
    await reader.cancel();
  });

  it("closes while a client keeps polling on a kept-alive socket that had a request under way (the live page), refusing a new stream", async () => {
    // An archive listing that waits for the test: /api/status is under way when close() is called.
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const dir = mkdtempSync(join(tmpdir(), "logbench-api-"));
    const ctx = { logger: silentLogger, metrics: new MetricsRegistry(), signal: new AbortController().signal };
    const real = createLocalArchive({ type: "local", dir }, ctx);
    const list = async (path: string) => {
      await gate;
      return real.list(path);
    };
    const archive = { ...real, list };
    const { url } = await setup({ archive });
    const { port } = new URL(url);
    // One kept-alive socket, as a browser reuses one: the stream, the status request, then a poll every 100 ms.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, onData?: () => void) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port, path, agent }, (res) => {
            res.on("data", () => onData?.());
            res.on("end", () => resolve(res));
          })
          .on("error", reject);
      });
    const streamAgent = new http.Agent({ keepAlive: true });
    let streamed = () => {};
    const opened = new Promise<void>((r) => (streamed = r));
    const stream = new Promise<void>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/api/windows/stream", agent: streamAgent }, (res) => {
          res.on("data", () => streamed());
          res.on("end", () => resolve());
        })
        .on("error", reject);
    });
    await opened;
    const status = get("/api/status");
    await new Promise((r) => setTimeout(r, 100));
    const answers: Array<string | undefined> = [];
    const codes: Array<number | undefined> = [];
    let polling = true;
    const polls = status.then(async () => {
      // First, as an EventSource reconnecting on the same socket would: a new stream while closing.
      for (let path = "/api/windows/stream"; polling; path = "/api/windows") {
        const res = await get(path).catch(() => null);
        answers.push(res?.headers.connection);
        codes.push(res?.statusCode);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    try {
      const closed = api!.close().then(() => "closed");
      setTimeout(release, 50);
      // Well inside the 5 s grace after which close() cuts connections itself: this is the clean path.
      const hung = new Promise((r) => setTimeout(() => r("still open after 3 s"), 3_000));
      expect(await Promise.race([closed, hung])).toBe("closed");
      api = null;
      await stream;
      polling = false;
      await polls;
      // The stream asked for while closing was refused, and that answer closed its connection; the later polls
      // found no server.
      expect(codes[0]).toBe(503);
      expect(answers[0]).toBe("close");
      expect(answers.filter((c) => c === "keep-alive")).toEqual([]);
    } finally {
      polling = false;
      release();
      await polls;
      agent.destroy();
      streamAgent.destroy();
    }
  });

  it("requires the bearer token when one is configured, except for /healthz", async () => {
    const token = "s3cret-token-0123456789";
    const { url } = await setup({ token });
    expect((await fetch(`${url}/api/windows`)).status).toBe(401);
    expect((await fetch(`${url}/api/windows`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ok = await fetch(`${url}/api/windows`, { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(
      await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).text(),
    ).not.toContain(token);
  });

  it("answers a bad time parameter with 400 and a message that says what is accepted", async () => {
    const { url } = await setup();
    const res = await fetch(`${url}/api/stream.arrow?from=yesterday-ish`);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toContain("use -15m, now, epoch ms or an ISO date");
  });

  it("says what to do when its port is taken", async () => {
    const { url } = await setup();
    const port = Number(new URL(url).port);
    await expect(setup({ port })).rejects.toThrow(/127\.0\.0\.1:\d+ is already in use .*set api\.port in the config/);
  });

  it("counts the aggregate group's lag from how far it processed, not from its restart point", async () => {
    const { bus, url } = await setup({ groups: ["aggregate"] });
    await bus.produce(TOPICS.events, [{ key: "a", value: JSON.stringify(event("a", "/")) }]);
    const [range] = (await bus.partitions(TOPICS.events)).filter((r) => r.high > 0);
    let assigned!: () => void;
    const ready = new Promise<void>((r) => {
      assigned = r;
    });
    const sub = await bus.subscribe({
      topic: TOPICS.events,
      group: "aggregate",
      onBatch: async () => {},
      onAssigned: async () => assigned(),
    });
    await ready;
    // An open window holds the restart point at the start, while everything has been processed.
    await sub.commit(range!.partition, 0, JSON.stringify({ c: range!.high, w: Date.UTC(1995, 6, 1) }));
    await sub.stop();
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('logbench_consumer_lag{group="aggregate"} 0');
  });

  it("reports the aggregate group's lag as 0 once it processed the last record (byte offsets: last + 1 < high)", async () => {
    const { bus, url } = await setup({ groups: ["aggregate"] });
    await bus.produce(TOPICS.events, [
      { key: "a", value: JSON.stringify(event("a", "/one")) },
      { key: "a", value: JSON.stringify(event("a", "/two")) },
    ]);
    const seen: number[] = [];
    let partition = -1;
    let got!: () => void;
    const both = new Promise<void>((r) => {
      got = r;
    });
    const sub = await bus.subscribe({
      topic: TOPICS.events,
      group: "aggregate",
      onBatch: async (p, messages) => {
        partition = p;
        seen.push(...messages.map((m) => m.offset));
        if (seen.length === 2) got();
      },
    });
    await both;
    const lag = async () =>
      Number(
        /logbench_consumer_lag\{group="aggregate"\} (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1],
      );
    const [first, last] = seen as [number, number];
    // What the stage commits: its restart point, and "last processed + 1" as the checkpoint.
    await sub.commit(partition, first, JSON.stringify({ c: first + 1, w: null }));
    expect(await lag()).toBeGreaterThan(0);
    await sub.commit(partition, first, JSON.stringify({ c: last + 1, w: null }));
    expect(await lag()).toBe(0);
    await sub.stop();
  });
});
