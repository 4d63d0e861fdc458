/**
 * A netcat-style TCP listener (Flume's netcat source, syslog over TCP): one line per event, many connections at
 * once. Lines from all connections are gathered into one batch that is published when it is full or
 * `flushInterval` after its first line, so a slow sender's lines reach the bus within that interval.
 *
 * Back-pressure: while one batch is being published the next one fills; when that one is full too, every
 * connection stops reading (its socket is paused, so the kernel's TCP window pushes back on the sender). Memory
 * is about two batches plus a small read buffer per connection.
 *
 * A line cut by the peer closing (or resetting) the connection before its newline becomes a dead letter saying
 * so. TCP gives the sender no acknowledgement: what the daemon read but had not yet published when it is killed
 * (SIGKILL, power loss) is lost without the sender knowing, as with any TCP syslog sink. A clean stop (SIGTERM)
 * stops accepting, reads what was already received, publishes it, then closes the connections.
 */
import { createServer, type Server, type Socket } from "node:net";
import { z } from "zod";
import { duration } from "../../../connectors/config-helpers.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import { retryWhileRunning } from "../../retry.ts";
import { LineBatcher } from "../line-batcher.ts";
import { readLines } from "../lines.ts";
import { createParser, parseLine, toDeadLetter } from "../parse/index.ts";
import type { Source, SourceComponent, SourceRuntime } from "../source.ts";
import { sourceFields } from "../source.ts";

export const tcpSourceSchema = z
  .object({
    type: z.literal("tcp"),
    name: sourceFields.name("tcp"),
    host: z.string().min(1).default("127.0.0.1").describe("Listen address (0.0.0.0 for every interface)"),
    port: z.number().int().min(0).max(65535).describe("Listen port (0 = any free port, logged at start)"),
    format: sourceFields.format(),
    batchLines: sourceFields.batchLines(),
    flushInterval: duration("200ms")
      .default(200)
      .describe("Longest time a received line waits for its batch to fill before it is published"),
    maxConnections: z.number().int().positive().default(1024).describe("Connections accepted at once"),
  })
  .strict()
  .describe("Listens on a TCP port for log lines, one per event (netcat, syslog-style senders)");

export type TcpSourceConfig = z.infer<typeof tcpSourceSchema>;

export const tcpSource: SourceComponent<typeof tcpSourceSchema> = {
  type: "tcp",
  schema: tcpSourceSchema,
  create: (config, rt) => createTcpSource(config, rt),
  addressField: "port",
  describe: (config) => `TCP listener on ${config.host}:${config.port} (${config.format})`,
  needs: (config) => ({ net: [`${config.host}:${config.port}`] }),
  async check(config) {
    const server = createServer();
    await listen(server, config);
    const { port } = server.address() as { port: number };
    await new Promise<void>((done) => server.close(() => done()));
    return `${config.host}:${port} can be listened on`;
  },
};

/** Per-connection read buffer before the socket is paused. */
const READ_HIGH_WATER = 256 * 1024;

export function createTcpSource(config: TcpSourceConfig, rt: SourceRuntime): Source {
  const parser = createParser(config.format, { keepRaw: rt.parse.keepRaw });
  const log = rt.ctx.logger.child({ source: config.name });
  const { metrics, signal } = rt.ctx;
  const labels = { source: config.name };
  metrics.describe("logbench_tcp_connections", "gauge", "Open connections of a TCP source");
  metrics.describe(
    "logbench_tcp_paused_connections",
    "gauge",
    "Connections not being read because the bus is behind (back-pressure on the senders)",
  );
  metrics.describe("logbench_tcp_received_bytes_total", "counter", "Bytes read from TCP connections");
  metrics.describe("logbench_ingest_errors_total", "counter", "Failed bus publishes of a source, by code");
  metrics.describe("logbench_ingest_lost_total", "counter", "Lines received but never acknowledged by the bus");
  const batch = new LineBatcher(
    {
      batchLines: config.batchLines,
      flushInterval: config.flushInterval,
      onLost: (records, err) => {
        metrics.inc("logbench_ingest_lost_total", labels, records);
        log.error("Lines received over TCP were lost: the bus did not take them.", { lines: records, err });
      },
    },
    (events, dead) =>
      retryWhileRunning(rt.ctx, { doing: "publishing TCP lines", errorMetric: "logbench_ingest_errors_total" }, () =>
        rt.publisher.publish(config.name, events, dead),
      ),
  );
  let stopping = false;

  async function serve(socket: Socket, chunks: SocketChunks): Promise<void> {
    const peer = `tcp://${socket.remoteAddress}:${socket.remotePort}`;
    const max = rt.parse.maxLineBytes;
    for await (const lines of readLines(chunks, { maxLineBytes: max, batchLines: config.batchLines })) {
      await batch.room();
      for (const line of lines) {
        if (line.end === chunks.total && chunks.endsMidLine) {
          const why = stopping
            ? "the daemon shut down before the line's newline arrived"
            : "the connection closed before the line's newline";
          batch.dead(toDeadLetter(line, `${why} (${line.end - line.offset} bytes, no newline)`, config.name, peer));
        } else if (line.tooLong) {
          batch.dead(toDeadLetter(line, `line longer than ${max} bytes`, config.name, peer));
        } else {
          const outcome = parseLine(parser, line, config.name);
          if (outcome.ok) batch.event(outcome.event);
          else batch.dead(toDeadLetter(line, outcome.reason, config.name, peer));
        }
      }
      batch.added();
    }
  }

  return {
    name: config.name,
    finite: false,
    async run() {
      const open = new Set<SocketChunks>();
      const serving = new Set<Promise<void>>();
      const server = createServer({ pauseOnConnect: true }, (socket) => {
        if (stopping) return void socket.destroy();
        metrics.inc("logbench_tcp_connections", labels, 1);
        const chunks = new SocketChunks(socket, {
          bytes: (n) => metrics.inc("logbench_tcp_received_bytes_total", labels, n),
          paused: (by) => metrics.inc("logbench_tcp_paused_connections", labels, by),
        });
        open.add(chunks);
        const job: Promise<void> = serve(socket, chunks)
          .catch((err) => log.warn("A TCP connection failed.", { err }))
          .finally(() => {
            open.delete(chunks);
            socket.destroy();
            metrics.inc("logbench_tcp_connections", labels, -1);
            serving.delete(job);
          });
        serving.add(job);
      });
      server.maxConnections = config.maxConnections;
      await listen(server, config);
      const address = server.address() as { address: string; port: number };
      log.info("TCP source listening.", { host: address.address, port: address.port });
      const stopped = new Promise<void>((done) => {
        if (signal.aborted) done();
        else signal.addEventListener("abort", () => done(), { once: true });
      });
      let failure: unknown = null;
      await Promise.race([stopped, batch.failed]).catch((err) => {
        failure = err;
      });
      // Stop accepting and reading; what was read (even half a line) is published before the sockets close.
      stopping = true;
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const chunks of open) chunks.end();
      await Promise.all(serving);
      await batch.flush();
      await closed;
      if (failure) throw failure;
      log.info("TCP source stopped.", { port: address.port });
    },
  };
}

/**
 * A socket's chunks as an async iterable that `end()` can stop early (at shutdown) without losing what was
 * already read. The socket is paused while READ_HIGH_WATER bytes wait, which is what stops the sender.
 */
class SocketChunks implements AsyncIterable<Uint8Array> {
  /** Bytes received so far. */
  total = 0;
  private lastByte = 10;
  private readonly chunks: Buffer[] = [];
  private waiting = 0;
  private ended = false;
  private wake: (() => void) | null = null;
  /** Paused here because too much waits unread (not because it ended). */
  private held = false;

  constructor(
    private readonly socket: Socket,
    private readonly on: { bytes: (n: number) => void; paused: (by: 1 | -1) => void },
  ) {
    socket.on("data", (chunk: Buffer) => {
      if (this.ended) return;
      on.bytes(chunk.length);
      this.chunks.push(chunk);
      this.total += chunk.length;
      this.waiting += chunk.length;
      this.lastByte = chunk[chunk.length - 1]!;
      if (this.waiting >= READ_HIGH_WATER && !this.held) {
        this.held = true;
        on.paused(1);
        socket.pause();
      }
      this.notify();
    });
    // A reset is a close like any other here: what arrived is kept, a cut line is a dead letter.
    socket.on("error", () => this.end());
    socket.on("end", () => this.end());
    socket.on("close", () => this.end());
    socket.resume();
  }

  /** The input ended in the middle of a line (no newline after the last byte). */
  get endsMidLine(): boolean {
    return this.ended && this.lastByte !== 10;
  }

  /** No more reading: the chunks already received are still yielded. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.socket.pause();
    this.notify();
  }

  private release(): void {
    if (!this.held) return;
    this.held = false;
    this.on.paused(-1);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.waiting -= chunk.length;
        if (this.held && this.waiting < READ_HIGH_WATER) {
          this.release();
          if (!this.ended) this.socket.resume();
        }
        yield chunk;
      } else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

function listen(server: Server, config: TcpSourceConfig): Promise<void> {
  return new Promise((done, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(
        new LogbenchError(
          err.code === "EADDRINUSE" ? "UNAVAILABLE" : "CONFIG",
          `tcp source: cannot listen on ${config.host}:${config.port} (${err.code ?? err.message}): ${
            err.code === "EADDRINUSE"
              ? "another program (a running daemon?) holds it; pick another port"
              : "check host and port"
          }`,
          { cause: err, retryable: false },
        ),
      ),
    );
    server.listen(config.port, config.host, () => done());
  });
}
