/**
 * `logbench report` against the Debian goaccess on the real elastic sample. The archive is written as the archive
 * stage lays it out (one Parquet file per UTC hour) and the sample's dead letters go to the embedded bus; goaccess
 * reads the same file. The one line logbench dead-letters (8899, truncated inside its agent) is the only allowed
 * difference, and it is asserted exactly from the line itself.
 */
import { expect, it } from "vitest";
import { runMain } from "../cli/run-main.ts";
import { writeElasticArchive } from "./elastic-archive.ts";
import { expectMatchesGoAccess } from "./goaccess-oracle.ts";

let configPath = "";
// biome-ignore lint/suspicious/noExplicitAny: GoAccess-shaped JSON read back from the CLI
let oursJson: any;

/** `logbench report` for 17–20 May over the archive the first test writes, in one format. */
async function report(format: string): Promise<string> {
  const {
    code,
    stdout: out,
    stderr: err,
  } = await runMain([
    "report",
    "--config",
    configPath,
    "--from",
    "2015-05-17",
    "--to",
    "2015-05-21",
    "--format",
    format,
  ]);
  expect(code, err).toBe(0);
  return out;
}

it("matches goaccess's JSON on the elastic sample, but for the dead-lettered line", { timeout: 90_000 }, async () => {
  const { dir, configFile, lines, dead } = await writeElasticArchive();
  expect(dead.map((d) => d.line)).toEqual([8899]);
  configPath = configFile;
  const ours = JSON.parse(await report("json"));
  oursJson = ours;

  await expectMatchesGoAccess(ours, { dir, lines, deadRaw: dead[0]!.raw });
});

const numbers = (s: string) => s.replace(/,/g, "");
const unescapeHtml = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);

it("--format html is one self-contained file whose numbers are the JSON's", { timeout: 60_000 }, async () => {
  expect(oursJson, "the JSON test runs first and writes the archive").toBeDefined();
  const html = await report("html");
  // Self-contained: no element loads anything (URLs appear only as text, e.g. referrers).
  expect(html).not.toMatch(/\s(?:src|href|srcset|action|poster)\s*=/i);
  expect(html).not.toMatch(/<(?:link|iframe|img|object|embed|base)\b/i);
  expect(html).not.toMatch(/url\(|@import/i);
  expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
  // The inline data is the report.
  const inline = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!);
  const { date_time: _a, ...general } = oursJson.general;
  const { date_time: _b, ...inlineGeneral } = inline.general;
  expect(inlineGeneral).toEqual(general);
  // Every card shows its number from the JSON.
  const cards = new Map(
    [...html.matchAll(/<div class="card"><span>([^<]+)<\/span><b>([^<]+)<\/b>/g)].map((m) => [m[1], numbers(m[2]!)]),
  );
  expect(cards.get("Total requests")).toBe(String(oursJson.general.total_requests));
  expect(cards.get("Unique visitors")).toBe(String(oursJson.general.unique_visitors));
  expect(cards.get("Unique files")).toBe(String(oursJson.general.unique_files));
  expect(cards.get("Bandwidth (bytes)")).toBe(String(oursJson.general.bandwidth));
  expect(cards.get("Crawlers by isbot only")).toBe(String(oursJson.general.crawlers_isbot_only));
  expect(cards.size).toBe(10);
  // Every panel's table rows are the JSON's first rows: hits, visitors, bytes and data.
  for (const panel of ["visitors", "requests", "static_requests", "not_found", "hosts", "os", "browsers"]) {
    const section = new RegExp(`<section id="${panel}">(.*?)</section>`, "s").exec(html)?.[1];
    expect(section, panel).toBeDefined();
    const rows = [
      ...section!.matchAll(/<tr><td>(\d+)<\/td><td>[^<]*<\/td><td>(\d+)<\/td><td>(\d+)<\/td><td>([^<]*)<\/td><\/tr>/g),
    ];
    const json = oursJson[panel].data.slice(0, 50);
    expect(rows.length, panel).toBe(json.length);
    for (const [i, r] of rows.entries()) {
      const d = json[i];
      expect([Number(r[1]), Number(r[2]), Number(r[3])], `${panel} row ${i}`).toEqual([
        d.hits.count,
        d.visitors.count,
        d.bytes.count,
      ]);
      expect(unescapeHtml(r[4]!)).toBe(`${d.method ? `${d.method} ` : ""}${d.data}`);
    }
  }
});

it("--format text summarises the same numbers", { timeout: 60_000 }, async () => {
  expect(oursJson, "the JSON test runs first and writes the archive").toBeDefined();
  const text = await report("text");
  const line = (label: string) => numbers(new RegExp(`^  ${label}\\s+([\\d,]+)$`, "m").exec(text)?.[1] ?? "");
  expect(line("Total requests")).toBe(String(oursJson.general.total_requests));
  expect(line("Failed requests")).toBe(String(oursJson.general.failed_requests));
  expect(line("Unique visitors")).toBe(String(oursJson.general.unique_visitors));
  expect(line("Unique static files")).toBe(String(oursJson.general.unique_static_files));
  expect(line("Bandwidth \\(bytes\\)")).toBe(String(oursJson.general.bandwidth));
  // The browsers' top rows, with the panel's total in the heading.
  const browsers = text.split("\n\n").find((b) => b.startsWith("Browsers ("))!;
  expect(browsers.split("\n")[0]).toBe(`Browsers (${oursJson.browsers.metadata.data.total.value})`);
  const rows = browsers
    .split("\n")
    .slice(2)
    .map((l) => l.trim().split(/\s+/));
  expect(rows.map((r) => [Number(r[0]), r.slice(3).join(" ")])).toEqual(
    oursJson.browsers.data.slice(0, 10).map((d: { hits: { count: number }; data: string }) => [d.hits.count, d.data]),
  );
});
