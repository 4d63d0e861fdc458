/**
 * What the parse benchmark measures, one function per contender: logbench's parsers, a plain-regex
 * parser building the same events (the reference), and logbench's file-to-aggregates path.
 */
import { windowSpec } from "../pipeline/aggregate/window-spec.ts";
import { PartitionWindows, windowPoints } from "../pipeline/aggregate/window-state.ts";
import type { Line } from "../pipeline/ingest/lines.ts";
import { createParser, parseLine } from "../pipeline/ingest/parse/index.ts";
import type { LogEvent } from "../pipeline/model/log-event.ts";

/** Parses one batch; returns how many lines became events. */
export type BatchParser = (batch: Line[]) => number;

const MONTH: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** The obvious regex parser (what the seed projects do in Spark): regex, then split and Date.UTC. */
export const CLF_RE = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-)$/;
const COMBINED_RE = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;

export function regexEvent(line: string, re: RegExp, source: string): LogEvent | null {
  const m = re.exec(line);
  if (!m) return null;
  const t = m[4]!;
  const zone = (Number(t.slice(22, 24)) * 60 + Number(t.slice(24, 26))) * (t[21] === "-" ? -1 : 1);
  const ts =
    Date.UTC(
      Number(t.slice(7, 11)),
      MONTH[t.slice(3, 6)]!,
      Number(t.slice(0, 2)),
      Number(t.slice(12, 14)),
      Number(t.slice(15, 17)),
      Number(t.slice(18, 20)),
    ) -
    zone * 60_000;
  const [method = null, target = null, protocol = null] = m[5]!.split(" ");
  const q = target === null ? -1 : target.indexOf("?");
  const dash = (v: string | undefined) => (v === undefined || v === "-" ? null : v);
  return {
    ts,
    host: m[1]!,
    ident: dash(m[2]),
    user: dash(m[3]),
    method,
    path: q === -1 ? target : target!.slice(0, q),
    query: q === -1 ? null : target!.slice(q + 1),
    protocol,
    status: Number(m[6]),
    bytes: m[7] === "-" ? null : Number(m[7]),
    referrer: dash(m[8]),
    agent: dash(m[9]),
    source,
  };
}

const decoder = new TextDecoder();

/** Contenders by name: `logbench:<format>` (any createParser format), `regex:clf`, `regex:combined`, `JSON.parse`. */
export function batchParser(name: string): BatchParser {
  if (name.startsWith("logbench:")) {
    const parser = createParser(name.slice("logbench:".length));
    return (batch) => {
      let ok = 0;
      for (const line of batch) if (parseLine(parser, line, "bench").ok) ok++;
      return ok;
    };
  }
  if (name === "regex:clf" || name === "regex:combined") {
    const re = name === "regex:clf" ? CLF_RE : COMBINED_RE;
    return (batch) => {
      let ok = 0;
      for (const line of batch) if (regexEvent(decoder.decode(line.bytes), re, "bench")) ok++;
      return ok;
    };
  }
  if (name === "JSON.parse") {
    // Only the JSON decoding a JSON-lines reader cannot avoid: the floor for any JSON mapping.
    return (batch) => {
      let ok = 0;
      for (const line of batch) {
        try {
          if (JSON.parse(decoder.decode(line.bytes)) !== null) ok++;
        } catch {}
      }
      return ok;
    };
  }
  throw new Error(`unknown contender "${name}"`);
}

/**
 * The aggregate step of the file-to-aggregates path: 60 s event-time windows with counts, bytes,
 * status classes, methods, statuses, unique hosts and top-10 paths and hosts, as the aggregate stage
 * computes them (pipeline/aggregate/window-state.ts). One function to swap if that module changes.
 */
export function windowAggregator(windowMs = 60_000, topK = 10) {
  const windows = new PartitionWindows({ windows: [windowSpec(windowMs)], latenessMs: windowMs, topK });
  let offset = 0;
  let late = 0;
  let points = 0;
  let closedWindows = 0;
  const flush = () => {
    const { closed } = windows.drain();
    closedWindows += closed.length;
    for (const state of closed) points += windowPoints(state, 0, topK).length;
  };
  return {
    add(event: LogEvent): void {
      if (!windows.add(event, offset++)) late++;
    },
    /** Called after each batch, as the aggregate stage does after each poll. */
    flush,
    finish(): { windows: number; points: number; late: number } {
      flush();
      for (const state of windows.open.values()) {
        closedWindows++;
        points += windowPoints(state, 0, topK).length;
      }
      return { windows: closedWindows, points, late };
    },
  };
}
