/**
 * The two push scenarios of the seed projects, run against the real daemon process (embedded or distributed):
 * the NASA sample streamed over TCP with a delay (several connections, one closed mid-line), and the elastic
 * sample pushed over HTTP in several POSTs (text/plain and NDJSON). Expected output is counted here, from what
 * the test sent, independently of logbench's parsers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { expect } from "vitest";
import { parse, stringify } from "yaml";
import { complete, counts, expectExactOutput } from "./check.ts";
import { expectedFromFiles, multisetDiff } from "./expected.ts";
import { type DaemonProcess, query, SAMPLES, startDaemon, stopDaemon, waitFor } from "./harness.ts";

export const TOKEN = "e2e-push-token-0123456789";

/** Rewrites a written config so it has only `source`, and this `api` section and archive roll when given. */
export function withSource(
  file: string,
  source: Record<string, unknown>,
  more: { api?: Record<string, unknown>; roll?: Record<string, unknown> } = {},
): string {
  const config = parse(readFileSync(file, "utf8")) as Record<string, Record<string, unknown>>;
  config.sources = [source] as never;
  if (more.api) config.api = more.api;
  if (more.roll) config.archiver = { ...config.archiver, roll: more.roll };
  writeFileSync(file, stringify(config));
  return file;
}

/** A field of the daemon's first JSON log line with this message. */
async function logged(d: DaemonProcess, message: string, field: string): Promise<string> {
  const line = await waitFor(
    `the daemon to log "${message}"`,
    async () =>
      d
        .stderr()
        .split("\n")
        .find((l) => l.includes(`"message":"${message}"`)),
    (l) => l !== undefined,
    { daemon: d, intervalMs: 100, timeoutMs: 60_000 },
  );
  return String(JSON.parse(line!)[field]);
}

/** The sum of a metric's series on the daemon's /metrics. */
async function metric(api: string, name: string, headers: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${api}/metrics`, { headers })).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(" ").at(-1));
  return sum;
}

/**
 * Waits on the daemon's own counters (cheap) before the catalog queries (a DuckDB catalog per probe, seconds each
 * on a loaded machine) that then check the output.
 */
async function waitForStages(d: DaemonProcess, api: string, events: number, headers: Record<string, string> = {}) {
  await waitFor(
    "the archive and aggregate stages to take every event (daemon metrics)",
    () =>
      Promise.all([
        metric(api, "logbench_archive_sent_total", headers),
        metric(api, "logbench_aggregate_received_total", headers),
      ]),
    ([archived, aggregated]) => archived >= events && aggregated >= events,
    { daemon: d, intervalMs: 300, timeoutMs: 150_000 },
  );
}

function sampleLines(name: string): string[] {
  const lines = readFileSync(join(SAMPLES, name), "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function write(s: Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => s.write(text, (err) => (err ? reject(err) : resolve())));
}

/** Config overrides for the tcp scenario's source (port 0: the test reads the port from the daemon's log). */
export const tcpSourceConfig = { type: "tcp", name: "nc", port: 0, format: "clf", flushInterval: "100ms" };

/**
 * 300 NASA lines and 3 garbage lines over 3 connections at once, a few ms apart (the seed's `nc` with a delay);
 * the last connection closes in the middle of a line. Everything is checked against what was sent.
 */
export async function tcpScenario(dir: string, config: string): Promise<void> {
  const nasa = sampleLines("nasa-jul95-first1000.log").slice(0, 300);
  const garbage = ["this is not a log line", "GET / HTTP/1.0", "-"];
  const perConnection = [0, 1, 2].map((c) => nasa.filter((_, i) => i % 3 === c));
  perConnection[1]!.splice(40, 0, ...garbage);
  const cut = `${nasa[299]!.slice(0, 35)}`; // stops inside the request: not a CLF line
  const sent = [...perConnection.flat(), cut];
  writeFileSync(join(dir, "sent.log"), `${sent.join("\n")}\n`);
  const expected = expectedFromFiles([join(dir, "sent.log")]);
  expect(expected.good.length).toBe(300);
  expect(expected.bad.length).toBe(4);

  const daemon = startDaemon(config);
  try {
    const api = await logged(daemon, "API listening.", "url");
    const port = Number(await logged(daemon, "TCP source listening.", "port"));
    await Promise.all(
      perConnection.map(async (lines, c) => {
        const s = connect(port, "127.0.0.1");
        await new Promise((r) => s.once("connect", r));
        for (const line of lines) {
          await write(s, `${line}\n`);
          await new Promise((r) => setTimeout(r, 3));
        }
        if (c === 2) await write(s, cut);
        await new Promise<void>((r) => s.end(() => r()));
      }),
    );
    await waitForStages(daemon, api, expected.good.length);
    await waitFor("all lines through the pipeline", () => counts(config), complete(expected), {
      daemon,
      timeoutMs: 150_000,
    });
    expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
    await expectExactOutput(config, expected);
    const [cutLetter] = await query(config, `select reason from dead_letters where raw = '${cut}'`);
    expect(cutLetter?.reason).toBe("the connection closed before the line's newline (35 bytes, no newline)");
  } finally {
    await stopDaemon(daemon, "SIGKILL");
  }
}

/** 10,000 events: rolls of a few thousand records keep the number of Parquet files (and the run time) small. */
export const HTTP_ROLL = { records: 4000, idle: "1s", interval: "1m", size: "64MB" };

export const httpSourceConfig = { type: "http", name: "push", format: "combined", maxBodyBytes: "1MB" };

const COMBINED =
  /^\S+ \S+ \S+ \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "[^"]*" \d{3} (?:\d+|-) "[^"]*" "[^"]*"$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Events per minute of the lines that are combined-format lines. */
function perMinute(lines: string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of lines) {
    const m = COMBINED.exec(line);
    if (!m) continue;
    const [, d, mon, y, hh, mm, , sign, oh, om] = m;
    const offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
    const ts = Date.UTC(Number(y), MONTHS.indexOf(mon!), Number(d), Number(hh), Number(mm)) - offset;
    const minute = Math.floor(ts / 60_000) * 60_000;
    out.set(minute, (out.get(minute) ?? 0) + 1);
  }
  return out;
}

/**
 * The elastic sample (10,000 lines, exactly 1 bad) in 4 POSTs, text/plain and NDJSON alternating; a request
 * without the token (401), one too large (413) and one of another type (415) change nothing.
 */
export async function httpScenario(config: string): Promise<void> {
  const lines = sampleLines("elastic-apache-combined.log");
  expect(lines.length).toBe(10_000);
  const good = lines.filter((l) => COMBINED.test(l));
  expect(good.length).toBe(9_999);

  const daemon = startDaemon(config);
  try {
    const api = await logged(daemon, "API listening.", "url");
    const url = `${api}/api/ingest/push`;
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const probe = () => fetch(url, { method: "HEAD", headers: auth }).then((r) => r.status);
    await waitFor("the push source", probe, (s) => s === 405, { daemon });
    const post = async (body: string, type: string, headers: Record<string, string> = auth) => {
      const res = await fetch(url, { method: "POST", body, headers: { "Content-Type": type, ...headers } });
      return {
        status: res.status,
        body: (await res.json()) as { events?: number; deadLetters?: number; error?: string },
      };
    };

    expect((await post(`${lines[0]}\n`, "text/plain", {})).status).toBe(401);
    const tooBig = await post(`${lines.join("\n")}\n`, "text/plain");
    expect([tooBig.status, tooBig.body.error]).toEqual([413, expect.stringMatching(/smaller requests/)]);
    expect((await post("{}", "application/json")).status).toBe(415);

    const deadRaw: string[] = [];
    const totals = { events: 0, deadLetters: 0 };
    for (let part = 0; part < 4; part++) {
      const chunk = lines.slice(part * 2500, (part + 1) * 2500);
      const ndjson = part % 2 === 1;
      const body = ndjson ? chunk.map((l) => JSON.stringify({ line: l })) : chunk;
      for (let i = 0; i < chunk.length; i++) if (!COMBINED.test(chunk[i]!)) deadRaw.push(body[i]!);
      const res = await post(`${body.join("\n")}\n`, ndjson ? "application/x-ndjson" : "text/plain");
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      totals.events += res.body.events!;
      totals.deadLetters += res.body.deadLetters!;
    }
    // A 200 means durable: the counts are what the bus acknowledged, and they add up to what was sent.
    expect(totals).toEqual({ events: 9_999, deadLetters: 1 });

    await waitForStages(daemon, api, 9_999, auth);
    await waitFor(
      "all lines through the pipeline",
      () => counts(config),
      (c) => c.events >= 9_999 && c.dead >= 1 && c.windowed >= 9_999,
      { daemon, timeoutMs: 150_000 },
    );
    expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);

    const archived = (await query(config, "select raw from events")).map((r) => String(r.raw));
    expect(multisetDiff(archived, good)).toEqual({ missing: [], extra: [] });
    expect(archived.length).toBe(9_999);
    const dead = await query(config, "select raw, reason from dead_letters");
    expect(dead.map((r) => String(r.raw))).toEqual(deadRaw);
    const minutes = await query(config, "select time, sum(count) as n from requests group by time order by time");
    expect(new Map(minutes.map((r) => [Number(r.time), Number(r.n)]))).toEqual(perMinute(lines));
  } finally {
    await stopDaemon(daemon, "SIGKILL");
  }
}
