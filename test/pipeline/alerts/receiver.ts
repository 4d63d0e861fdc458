/** A local Alertmanager-webhook receiver (node:http on 127.0.0.1) that records what it is sent. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AlertmanagerPayload } from "../../../pipeline/alerts/deliver.ts";

export interface Receiver {
  url: string;
  port: number;
  received: AlertmanagerPayload[];
  /** Every request's method, in order (doctor sends HEAD). */
  methods: string[];
  /** Authorization headers seen, in order. */
  auth: Array<string | undefined>;
  /** Answer this status instead of 200 while set. */
  failWith: number | null;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const r: Receiver = {
    url: "",
    port,
    received: [],
    methods: [],
    auth: [],
    failWith: null,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      r.methods.push(req.method ?? "");
      if (req.method !== "POST") return void res.writeHead(200).end();
      if (r.failWith !== null) return void res.writeHead(r.failWith).end();
      r.received.push(JSON.parse(body) as AlertmanagerPayload);
      r.auth.push(req.headers.authorization);
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}/hook`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** A port nothing listens on (taken, then released). */
export async function freePort(): Promise<number> {
  const r = await startReceiver();
  await r.close();
  return r.port;
}

export async function until<T>(what: string, probe: () => T, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
