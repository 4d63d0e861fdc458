/** The synthetic log: every line parses with the real parser, the same seed gives the same bytes, and the mix is realistic. */
import { describe, expect, it } from "vitest";
import { createParser } from "../../../../pipeline/ingest/parse/index.ts";
import { clfTime, SyntheticLog } from "../../../../pipeline/ingest/synth/access-log.ts";

const START = Date.UTC(2024, 0, 1);
// Written here, not taken from logbench: a CLF line, optionally followed by quoted referrer and agent.
const CLF =
  /^(\S+) - (\S+) \[(\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000)\] "(GET|HEAD|POST|DELETE) (\/\S*) (HTTP\/[\d.]+)" (\d{3}) (\d+|-)$/;
const COMBINED = /^(.*) "([^"]*)" "([^"]+)"$/;

function lines(format: string, n: number, seed = 42, from = 0): string[] {
  const log = new SyntheticLog({ seed, format });
  return Array.from({ length: n }, (_, k) => log.line(from + k, START + (from + k) * 10));
}

describe("synthetic access log", () => {
  it.each(["clf", "combined", "nginx"])(
    "gives 10^5 %s lines that all parse, and match the format's shape",
    (format) => {
      const parser = createParser(format);
      const all = lines(format, 100_000);
      let dead = 0;
      let shaped = 0;
      for (let i = 0; i < all.length; i++) {
        if (!parser.parseText(all[i]!, "t").ok) dead++;
        // The shape, by a regex written here, on every 10th line (the parser sees them all).
        if (i % 10 !== 0) continue;
        const head = format === "clf" ? all[i] : COMBINED.exec(all[i]!)?.[1];
        if (head !== undefined && CLF.test(head)) shaped++;
      }
      expect(dead).toBe(0);
      expect(shaped).toBe(10_000);
    },
  );

  it("gives byte-identical lines for a seed, whichever line a run starts at, and other lines for another seed", () => {
    const a = lines("combined", 2_000);
    expect(lines("combined", 2_000)).toEqual(a);
    expect(lines("combined", 500, 42, 1_500)).toEqual(a.slice(1_500));
    const b = lines("combined", 2_000, 43);
    expect(b.filter((line, i) => line === a[i]).length).toBeLessThan(20);
    // clf is combined without the two quoted fields.
    expect(lines("clf", 100)).toEqual(a.slice(0, 100).map((l) => COMBINED.exec(l)![1]));
  });

  it("writes the time it is given, in UTC, as CLF", () => {
    expect(clfTime(Date.UTC(2000, 9, 10, 13, 55, 36))).toBe("10/Oct/2000:13:55:36 +0000");
    expect(new SyntheticLog({ seed: 1, format: "clf" }).line(0, Date.UTC(1995, 6, 1, 0, 0, 1))).toContain(
      "[01/Jul/1995:00:00:01 +0000]",
    );
  });

  it("has Zipf paths and clients, a status mix, stable sizes per path, crawlers and search referrers", () => {
    const status = new Map<string, number>();
    const paths = new Map<string, number>();
    const hosts = new Map<string, number>();
    const sizes = new Map<string, Set<string>>();
    let search = 0;
    let none = 0;
    let crawlers = 0;
    let queries = 0;
    let names = 0;
    const all = lines("combined", 50_000);
    for (const line of all) {
      const [, head, ref, agent] = COMBINED.exec(line)!;
      const [, host, , , , target, , code, bytes] = CLF.exec(head!)!;
      status.set(code!, (status.get(code!) ?? 0) + 1);
      const path = target!.split("?")[0]!;
      if (target!.includes("?")) queries++;
      paths.set(path, (paths.get(path) ?? 0) + 1);
      hosts.set(host!, (hosts.get(host!) ?? 0) + 1);
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(host!)) names++;
      if (code === "200" && !line.includes('"HEAD ')) sizes.set(path, (sizes.get(path) ?? new Set()).add(bytes!));
      if (code === "304") expect(bytes).toBe("-");
      if (/google|bing|duckduckgo|yahoo/.test(ref!) && ref!.includes("q=")) search++;
      if (ref === "-") none++;
      if (/bot/i.test(agent!)) crawlers++;
    }
    const share = (code: string) => (status.get(code) ?? 0) / all.length;
    expect(share("200")).toBeGreaterThan(0.75);
    expect(share("304")).toBeGreaterThan(0.05);
    expect(share("404")).toBeGreaterThan(0.01);
    expect(share("301")).toBeGreaterThan(0.001);
    expect(share("500") + share("502") + share("503")).toBeGreaterThan(0.002);
    expect(share("500") + share("502") + share("503")).toBeLessThan(0.02);
    for (const [path, seen] of sizes) expect(seen.size, `sizes of ${path}`).toBe(1);
    const byPath = [...paths.values()].sort((x, y) => y - x);
    expect(byPath[0]! / byPath[9]!).toBeGreaterThan(5); // a heavy head
    expect(paths.size).toBeGreaterThan(200); // and a long tail
    const byHost = [...hosts.values()].sort((x, y) => y - x);
    expect(byHost[0]!).toBeGreaterThan(1_000);
    expect(hosts.size).toBeGreaterThan(500);
    expect(hosts.size).toBeLessThan(2_001);
    expect(names / all.length).toBeGreaterThan(0.05);
    expect(search / all.length).toBeGreaterThan(0.02);
    expect(none / all.length).toBeGreaterThan(0.1);
    expect(crawlers / all.length).toBeGreaterThan(0.01);
    expect(queries / all.length).toBeGreaterThan(0.01);
  });

  it("refuses a format it does not write, naming the ones it does", () => {
    expect(() => new SyntheticLog({ seed: 1, format: "json" })).toThrow(/clf, common, combined, nginx/);
  });
});
