import { join } from "node:path";
import { expect } from "vitest";
import { readPositions } from "../../pipeline/ingest/positions.ts";
import { type Expected, eventKey, multisetDiff } from "./expected.ts";
import { type DaemonProcess, query, spool, startDaemon, stopDaemon, waitFor } from "./harness.ts";

/**
 * Archived events, dead letters, events in windows, and events counted late (none in these scenarios: a wait that
 * times out with `late` above 0 says the windows were closed early, not that the series store lags).
 */
export async function counts(
  configFile: string,
): Promise<{ events: number; dead: number; windowed: number; late: number }> {
  const [e] = await query(configFile, "select count(*) as n from events");
  const [d] = await query(configFile, "select count(*) as n from dead_letters");
  const [w] = await query(configFile, "select coalesce(sum(count), 0) as n from requests");
  const [l] = await query(configFile, "select coalesce(sum(count), 0) as n from late");
  return { events: Number(e!.n), dead: Number(d!.n), windowed: Number(w!.n), late: Number(l!.n) };
}

export function complete(expected: Expected) {
  return (c: { events: number; dead: number; windowed: number }) =>
    c.events >= expected.good.length && c.dead >= expected.bad.length && c.windowed >= expected.good.length;
}

/** Every parseable line archived exactly once, every other line a dead letter with a reason, windows exact. */
export async function expectExactOutput(configFile: string, expected: Expected): Promise<void> {
  const archived = (await query(configFile, "select raw from events")).map((r) => String(r.raw));
  const archiveDiff = multisetDiff(archived, expected.good);
  expect(archiveDiff, "archived lines vs parseable input lines").toEqual({ missing: [], extra: [] });
  expect(archived.length).toBe(expected.good.length);
  const keys = (await query(configFile, "select host, ts, path from events")).map((r) =>
    eventKey(r.host, r.ts, r.path),
  );
  expect(multisetDiff(keys, expected.keys), "archived (host, ts, path) vs parseable input lines").toEqual({
    missing: [],
    extra: [],
  });

  const dead = await query(configFile, "select raw, reason from dead_letters");
  expect(
    multisetDiff(
      dead.map((r) => String(r.raw)),
      expected.bad,
    ),
    "dead letters vs unparseable lines",
  ).toEqual({
    missing: [],
    extra: [],
  });
  for (const r of dead) expect(String(r.reason).length, `reason for ${String(r.raw)}`).toBeGreaterThan(5);
  expect(archived.length + dead.length).toBe(expected.lines.length);

  const minutes = await query(configFile, "select time, sum(count) as n from requests group by time order by time");
  const got = new Map(minutes.map((r) => [Number(r.time), Number(r.n)]));
  expect(got).toEqual(expected.perMinute);
}

/** Spool the files, run the daemon until every line is through, stop it (exit 0), then check everything. */
export async function runToCompletion(
  dir: string,
  config: string,
  files: string[],
  expected: Expected,
  options: { runner?: "node" | "deno"; timeoutMs?: number; denoFlags?: string[] } = {},
): Promise<DaemonProcess> {
  spool(join(dir, "spool"), files);
  const daemon = startDaemon(config, options.runner, options.denoFlags);
  try {
    await waitFor("all lines through the pipeline", () => counts(config), complete(expected), {
      daemon,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
    await expectExactOutput(config, expected);
    return daemon;
  } finally {
    await stopDaemon(daemon, "SIGKILL");
  }
}

/**
 * SIGKILL the daemon while the spool source is inside a file (its saved position is past the start and not
 * done), restart it, and check that nothing was lost and nothing doubled.
 */
export async function killMidFileAndRestart(
  dir: string,
  config: string,
  files: string[],
  expected: Expected,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  spool(join(dir, "spool"), files);
  const first = startDaemon(config);
  await waitFor(
    "the spool source inside a file",
    async () => readPositions(join(dir, "state"), "spool") ?? { files: {} },
    (p) => Object.values(p.files).some((f) => f.offset > 0 && !f.done),
    { daemon: first, intervalMs: 5 },
  );
  first.child.kill("SIGKILL");
  await first.exited;
  const partial = await counts(config);
  expect(partial.events + partial.dead, "the kill must land before the run finished").toBeLessThan(
    expected.lines.length,
  );

  const second = startDaemon(config);
  try {
    await waitFor("all lines through the pipeline after restart", () => counts(config), complete(expected), {
      daemon: second,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    expect(await stopDaemon(second)).toBe(0);
    await expectExactOutput(config, expected);
  } finally {
    await stopDaemon(second, "SIGKILL");
  }
}
