/** The end-to-end assertions shared by the embedded and the distributed runs. */
import { expect } from "vitest";
import { type Expected, multisetDiff } from "./expected.ts";
import { query } from "./harness.ts";

export async function counts(configFile: string): Promise<{ events: number; dead: number; windowed: number }> {
  const [e] = await query(configFile, "select count(*) as n from events");
  const [d] = await query(configFile, "select count(*) as n from dead_letters");
  const [w] = await query(configFile, "select coalesce(sum(count), 0) as n from requests");
  return { events: Number(e!.n), dead: Number(d!.n), windowed: Number(w!.n) };
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
