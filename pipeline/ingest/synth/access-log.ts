/**
 * Synthetic access-log lines: line i for a seed is a pure function of (seed, i, event time), so the same seed,
 * format and count give byte-identical output, and a run can start at any line. Formats are the presets of
 * pipeline/ingest/parse (clf, combined; nginx's default `combined` log_format writes the same text).
 */
import { LogbenchError } from "../../../connectors/errors.ts";
import { below, lineRandom, pick, type Random, weighted } from "./prng.ts";
import { buildSite, EXTERNAL_REFERRERS, SEARCH_ENGINES, type Site, type SitePath, WORDS } from "./site.ts";

/** Formats the generator writes, and whether the line carries referrer and user agent. */
export const SYNTH_FORMATS: Readonly<Record<string, boolean>> = Object.freeze({
  clf: false,
  common: false,
  combined: true,
  nginx: true,
});

export interface SyntheticLogOptions {
  seed: number;
  /** One of SYNTH_FORMATS. */
  format: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `10/Oct/2000:13:55:36 +0000` (the lines are written in UTC). */
export function clfTime(ts: number): string {
  const d = new Date(ts);
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

export class SyntheticLog {
  readonly format: string;
  private readonly combined: boolean;
  private readonly site: Site;

  constructor(private readonly options: SyntheticLogOptions) {
    const name = options.format.trim().toLowerCase();
    const combined = SYNTH_FORMATS[name];
    if (combined === undefined)
      throw new LogbenchError(
        "CONFIG",
        `the generator writes ${Object.keys(SYNTH_FORMATS).join(", ")}; got format ${JSON.stringify(options.format)}`,
      );
    this.format = name;
    this.combined = combined;
    this.site = buildSite(options.seed);
  }

  /** Line `index` (0-based) with event time `ts` (epoch ms), without a newline. */
  line(index: number, ts: number): string {
    const random = lineRandom(this.options.seed, index);
    const site = this.site;
    const client = site.clients[site.clientRank.sample(random)]!;
    const missing = random() < (client.crawler ? 0.01 : 0.025);
    const target = missing ? null : site.paths[site.pathRank.sample(random)]!;
    const path = target ? target.path + query(random, target) : pick(random, site.missing);
    const method = methodFor(random, target, client.crawler);
    const { status, bytes } = response(random, target, method, site.notFoundBytes);
    const protocol = weighted(random, [
      [0.84, "HTTP/1.1"],
      [0.13, "HTTP/2.0"],
      [0.03, "HTTP/1.0"],
    ]);
    const head = `${client.host} - ${client.user} [${clfTime(ts)}] "${method} ${path} ${protocol}" ${status} ${bytes}`;
    if (!this.combined) return head;
    return `${head} "${referrer(random, site, target, client.crawler)}" "${client.agent}"`;
  }
}

function query(random: Random, p: SitePath): string {
  if (p.path === "/search") return `?q=${pick(random, WORDS)}+${pick(random, WORDS)}`;
  if (p.kind === "api") return random() < 0.7 ? `?page=${1 + below(random, 20)}&limit=20` : "";
  if (p.path.startsWith("/category/")) return random() < 0.3 ? `?page=${2 + below(random, 8)}` : "";
  if (p.kind === "page" && random() < 0.05) return `?utm_source=${pick(random, ["newsletter", "twitter", "ads"])}`;
  if ((p.kind === "css" || p.kind === "js") && random() < 0.2) return "?v=3.2.1";
  return "";
}

function methodFor(random: Random, p: SitePath | null, crawler: boolean): string {
  if (crawler) return random() < 0.1 ? "HEAD" : "GET";
  if (p?.kind === "form") return random() < 0.5 ? "POST" : "GET";
  if (p?.path === "/api/v1/cart")
    return weighted(random, [
      [0.6, "POST"],
      [0.3, "GET"],
      [0.1, "DELETE"],
    ]);
  return random() < 0.01 ? "HEAD" : "GET";
}

function response(
  random: Random,
  p: SitePath | null,
  method: string,
  notFoundBytes: number,
): { status: number; bytes: string } {
  if (!p) return { status: 404, bytes: String(notFoundBytes) };
  const failure = random();
  if (failure < (p.kind === "api" ? 0.03 : 0.004)) {
    const status = weighted(random, [
      [0.6, 500],
      [0.25, 502],
      [0.15, 503],
    ]);
    return { status, bytes: String(status === 500 ? 531 : status === 502 ? 166 : 299) };
  }
  if (p.redirect) return { status: 301, bytes: String(p.bytes) };
  if (p.kind === "form" && method === "POST") return { status: 302, bytes: "0" };
  // Browsers revalidate cached assets: 304 carries no body, logged as "-".
  const cacheable = p.kind === "image" || p.kind === "css" || p.kind === "js";
  if (cacheable && random() < 0.25) return { status: 304, bytes: "-" };
  return { status: 200, bytes: method === "HEAD" ? "-" : String(p.bytes) };
}

function referrer(random: Random, site: Site, p: SitePath | null, crawler: boolean): string {
  if (crawler) return "-";
  const internal = () => site.origin + site.paths[site.pages[below(random, site.pages.length)]!]!.path;
  // Assets are loaded by a page of the site.
  if (p && p.kind !== "page" && p.kind !== "misc") return random() < 0.95 ? internal() : "-";
  return weighted<() => string>(random, [
    [0.4, () => "-"],
    [0.3, internal],
    [0.25, () => `${pick(random, SEARCH_ENGINES)}${pick(random, WORDS)}+${pick(random, WORDS)}`],
    [0.05, () => pick(random, EXTERNAL_REFERRERS)],
  ])();
}
