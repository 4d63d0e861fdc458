/**
 * The tcp source against real sockets: every line sent becomes an event or a dead letter (a line cut by a
 * closed connection says so), a slow sender's lines arrive within about a second, a stuck bus stops the reading
 * (the sender's writes back up), and a stop publishes everything received, even half a line.
 */
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createTcpSource, type TcpSourceConfig, tcpSource } from "../../../../pipeline/ingest/sources/tcp.ts";
import { type Recorder, recorder, runtime, sampleLines, type TestRuntime, until } from "./push-helpers.ts";

const NASA = sampleLines("nasa-jul95-first1000.log");
const CLF = /^\S+ \S+ \S+ \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[^"]*" \d{3} (?:\d+|-)$/;

interface Running extends TestRuntime {
  port: number;
  done: Promise<void>;
  rec: Recorder;
}

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.rec.hold = null;
    r.abort();
    await r.done.catch(() => {});
  }
});

async function start(overrides: Partial<TcpSourceConfig> = {}, rec = recorder()): Promise<Running> {
  const config = tcpSource.schema.parse({ type: "tcp", name: "nc", port: 0, format: "clf", ...overrides });
  const t = runtime(rec);
  const done = createTcpSource(config, t.rt).run();
  done.catch(() => {});
  await until("the source listening", () => t.logs.some((l) => l.message === "TCP source listening."));
  const port = Number(t.logs.find((l) => l.message === "TCP source listening.")!.port);
  const r = { ...t, port, done, rec };
  running.push(r);
  return r;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

function send(s: Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => s.write(text, (err) => (err ? reject(err) : resolve())));
}

function close(s: Socket): Promise<void> {
  return new Promise((resolve) => s.end(() => resolve()));
}

describe("tcp source", () => {
  it("takes lines from several connections; a line cut by a closed connection is a dead letter with its reason", async () => {
    const src = await start();
    const sent: string[] = [];
    const garbage = ["not a log line", "", "\u0000\u0001 binary"];
    const conns = await Promise.all([0, 1, 2, 3].map(() => open(src.port)));
    await Promise.all(
      conns.map(async (s, c) => {
        const mine = NASA.filter((_, i) => i % 4 === c).slice(0, 150);
        if (c === 1) mine.push(...garbage);
        sent.push(...mine);
        // In pieces of uneven size, so lines also straddle chunks.
        const text = `${mine.join("\n")}\n`;
        for (let at = 0; at < text.length; at += 997) await send(s, text.slice(at, at + 997));
      }),
    );
    const cut = NASA[999]!.slice(0, 40);
    await send(conns[3]!, cut);
    await Promise.all(conns.map(close));

    const good = sent.filter((l) => CLF.test(l));
    const bad = [...sent.filter((l) => !CLF.test(l)), cut];
    await until("every line on the bus", () => src.rec.events.length + src.rec.dead.length >= sent.length + 1);
    expect(src.rec.events.map((e) => e.raw).sort()).toEqual([...good].sort());
    expect(src.rec.dead.map((d) => d.raw).sort()).toEqual([...bad].sort());
    const cutLetter = src.rec.dead.find((d) => d.raw === cut)!;
    expect(cutLetter.reason).toBe("the connection closed before the line's newline (40 bytes, no newline)");
    expect(cutLetter.file).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await until("connections closed", () => src.metrics.get("logbench_tcp_connections", { source: "nc" }) === 0);
  });

  it("puts a slow sender's lines on the bus within about a second (nc with 0.1 s per line)", async () => {
    const src = await start({ batchLines: 5000 });
    const s = await open(src.port);
    const sentAt: number[] = [];
    for (const line of NASA.slice(0, 12)) {
      sentAt.push(Date.now());
      await send(s, `${line}\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await until("all 12 lines", () => src.rec.events.length === 12);
    const delays = src.rec.ackedAt.map((t, i) => t - sentAt[i]!);
    // flushInterval is 200 ms; a second leaves room for a loaded CI machine.
    expect(Math.max(...delays)).toBeLessThan(1000);
    await close(s);
  });

  it("stops reading while the bus is stuck, so the sender backs up; then delivers everything", async () => {
    let release!: () => void;
    const rec = recorder();
    rec.hold = new Promise((r) => {
      release = r;
    });
    const src = await start({ batchLines: 500 }, rec);
    const s = await open(src.port);
    const line = `${NASA[0]}\n`;
    const total = 120_000; // ~10 MB, far more than the batches and socket buffers hold
    const chunk = line.repeat(1000);
    for (let i = 0; i < total / 1000; i++) s.write(chunk);
    const labels = { source: "nc" };
    await until("the connection paused", () => src.metrics.get("logbench_tcp_paused_connections", labels) === 1);
    // Read so far: ~2 batches plus the read buffer; the rest of the ~10 MB waits on the sender's side.
    const received = src.metrics.get("logbench_tcp_received_bytes_total", labels);
    expect(received).toBeLessThan(1_500_000);
    expect(rec.batches).toBe(1);
    release();
    rec.hold = null;
    await close(s);
    await until("all lines", () => rec.events.length === total, 60_000);
    expect(rec.dead).toEqual([]);
  });

  it("on stop publishes everything received, the unfinished line as a dead letter, and closes", async () => {
    const src = await start({ flushInterval: 60_000, batchLines: 100_000 });
    const s = await open(src.port);
    const text = `${NASA.slice(0, 50).join("\n")}\n${NASA[50]!.slice(0, 30)}`;
    await send(s, text);
    await until(
      "the bytes read",
      () => src.metrics.get("logbench_tcp_received_bytes_total", { source: "nc" }) === Buffer.byteLength(text),
    );
    expect(src.rec.batches).toBe(0);
    const closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
    s.on("error", () => {});
    src.abort();
    await src.done;
    expect(src.rec.events).toHaveLength(50);
    expect(src.rec.dead.map((d) => [d.raw, d.reason])).toEqual([
      [NASA[50]!.slice(0, 30), "the daemon shut down before the line's newline arrived (30 bytes, no newline)"],
    ]);
    await closed;
    await expect(open(src.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("fails with a clear error when the port is taken, and doctor says so", async () => {
    const other = createServer();
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", () => r()));
    const port = (other.address() as { port: number }).port;
    try {
      const config = tcpSource.schema.parse({ type: "tcp", port });
      const t = runtime(recorder());
      await expect(createTcpSource(config, t.rt).run()).rejects.toThrow(
        `tcp source: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`,
      );
      await expect(tcpSource.check(config)).rejects.toThrow(/another program \(a running daemon\?\) holds it/);
    } finally {
      other.close();
    }
  });

  it("counts the lines it could not publish as lost when the bus fails for good, and stops with the error", async () => {
    const rec = recorder();
    rec.failWith = new Error("disk full");
    const src = await start({ flushInterval: 50 }, rec);
    const s = await open(src.port);
    s.on("error", () => {});
    await send(s, `${NASA.slice(0, 10).join("\n")}\n`);
    await expect(src.done).rejects.toThrow("disk full");
    expect(src.metrics.get("logbench_ingest_lost_total", { source: "nc" })).toBe(10);
    expect(src.logs.find((l) => l.level === "error")?.lines).toBe(10);
  });
});
