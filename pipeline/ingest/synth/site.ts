/**
 * The world a synthetic access log comes from, built once from the seed: a site map (pages, images, css/js,
 * a few redirects) whose popularity is Zipf-distributed, a client population (IPv4 addresses and some host
 * names, each with one user agent; a few are crawlers) whose activity is Zipf-distributed too, and the
 * referrers and search words that lines draw from.
 */
import { below, mix32, mulberry32, pick, type Random, Zipf } from "./prng.ts";

export type PathKind = "page" | "image" | "css" | "js" | "misc" | "api" | "form";

export interface SitePath {
  path: string;
  kind: PathKind;
  /** Response size, stable per path (an asset is the same file every time). */
  bytes: number;
  /** Answers 301 to every request (an old URL). */
  redirect: boolean;
}

export interface Client {
  host: string;
  agent: string;
  /** Authenticated user name, or "-". */
  user: string;
  crawler: boolean;
}

export interface Site {
  origin: string;
  paths: SitePath[];
  /** Indexes of pages only, for internal referrers. */
  pages: number[];
  pathRank: Zipf;
  clients: Client[];
  clientRank: Zipf;
  /** Request targets that do not exist (old links, scanners). */
  missing: string[];
  notFoundBytes: number;
}

export const WORDS = [
  "widget",
  "gadget",
  "sprocket",
  "gear",
  "lamp",
  "chair",
  "desk",
  "kettle",
  "garden",
  "bike",
  "camera",
  "phone",
  "cable",
  "router",
  "shelf",
  "boots",
  "jacket",
  "coffee",
  "tea",
  "maps",
  "travel",
  "recipe",
  "guide",
  "review",
  "deal",
  "sale",
  "blue",
  "red",
  "green",
  "large",
  "small",
  "classic",
  "pro",
  "mini",
];

const BROWSERS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
  "Mozilla/5.0 (iPad; CPU OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
  "curl/8.5.0",
  "Wget/1.21.4",
  "python-requests/2.31.0",
];

/** Crawlers with the address block they crawl from. */
const CRAWLERS: readonly (readonly [string, string])[] = [
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249"],
  ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "157.55"],
  ["Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "5.255"],
  ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "54.36"],
  ["DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "20.191"],
];

export const SEARCH_ENGINES = [
  "https://www.google.com/search?q=",
  "https://www.bing.com/search?q=",
  "https://duckduckgo.com/?q=",
  "https://search.yahoo.com/search?p=",
];

export const EXTERNAL_REFERRERS = [
  "https://news.ycombinator.com/",
  "https://www.reddit.com/r/webdev/",
  "https://t.co/x7Kq2LmP",
  "https://en.wikipedia.org/wiki/Web_server",
  "https://www.facebook.com/",
];

const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
const ISPS = ["dsl.example.net", "cable.example.org", "fiber.example.com", "mobile.example.net", "dialup.example.com"];

function ipv4(random: Random): string {
  // Public-looking first octets: no 0, 10, 127, 169, 172, 192, multicast or above.
  const first = pick(random, [24, 31, 45, 62, 71, 81, 88, 93, 104, 109, 128, 131, 141, 151, 178, 185, 203, 212]);
  return `${first}.${below(random, 256)}.${below(random, 256)}.${1 + below(random, 254)}`;
}

function size(random: Random, min: number, max: number): number {
  // Log-uniform: many small files, a few big ones.
  return Math.round(min * (max / min) ** random());
}

function buildPaths(random: Random): SitePath[] {
  const out: SitePath[] = [];
  const add = (path: string, kind: PathKind, bytes: number, redirect = false) =>
    out.push({ path, kind, bytes, redirect });
  // The head of the Zipf ranking: what every visit loads.
  add("/", "page", size(random, 8_000, 40_000));
  add("/css/site.css", "css", size(random, 20_000, 80_000));
  add("/js/app.js", "js", size(random, 60_000, 300_000));
  add("/images/logo.png", "image", size(random, 3_000, 20_000));
  add("/favicon.ico", "misc", 1_150);
  const rest: SitePath[] = [];
  const more = (path: string, kind: PathKind, bytes: number, redirect = false) =>
    rest.push({ path, kind, bytes, redirect });
  for (let i = 0; i < 120; i++)
    more(
      `/products/${pick(random, WORDS)}-${pick(random, WORDS)}-${100 + i}.html`,
      "page",
      size(random, 6_000, 60_000),
    );
  for (let i = 0; i < 60; i++) {
    const month = String(1 + below(random, 12)).padStart(2, "0");
    more(
      `/blog/20${18 + below(random, 7)}/${month}/${pick(random, WORDS)}-${pick(random, WORDS)}/`,
      "page",
      size(random, 9_000, 70_000),
    );
  }
  for (let i = 0; i < 40; i++)
    more(`/docs/${pick(random, WORDS)}/${pick(random, WORDS)}-${i}.html`, "page", size(random, 5_000, 45_000));
  for (const w of WORDS.slice(0, 12)) more(`/category/${w}`, "page", size(random, 7_000, 30_000));
  for (let i = 0; i < 150; i++) {
    const ext = pick(random, ["jpg", "jpg", "png", "gif", "webp"]);
    more(`/images/${pick(random, WORDS)}-${i}.${ext}`, "image", size(random, 2_000, 400_000));
  }
  for (const n of ["vendor", "print", "theme"]) more(`/css/${n}.min.css`, "css", size(random, 5_000, 60_000));
  for (const n of ["vendor", "analytics", "search"]) more(`/js/${n}.min.js`, "js", size(random, 10_000, 250_000));
  more("/search", "page", size(random, 4_000, 20_000));
  more("/robots.txt", "misc", 68);
  more("/sitemap.xml", "misc", size(random, 10_000, 40_000));
  more("/api/v1/items", "api", size(random, 800, 12_000));
  more("/api/v1/cart", "api", size(random, 200, 2_000));
  more("/login", "form", size(random, 3_000, 9_000));
  for (const old of ["/about", "/shop", "/blog", "/old-home.html", "/index.php"])
    more(old, "page", size(random, 230, 250), true);
  // Shuffle the tail so popularity does not follow the build order.
  for (let i = rest.length - 1; i > 0; i--) {
    const j = below(random, i + 1);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return [...out, ...rest];
}

function buildClients(random: Random, n: number): Client[] {
  const clients: Client[] = [];
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.06) {
      const [agent, block] = pick(random, CRAWLERS);
      clients.push({
        host: `${block}.${below(random, 256)}.${1 + below(random, 254)}`,
        agent,
        user: "-",
        crawler: true,
      });
      continue;
    }
    let host = ipv4(random);
    // Some servers log resolved names (HostnameLookups on), as the NASA logs do.
    if (random() < 0.15) host = `host-${host.replaceAll(".", "-")}.${pick(random, ISPS)}`;
    const user = random() < 0.03 ? pick(random, NAMES) : "-";
    clients.push({ host, agent: pick(random, BROWSERS), user, crawler: false });
  }
  // The most active clients are people and crawlers alike; shuffle so rank 0 is not always a crawler.
  for (let i = clients.length - 1; i > 0; i--) {
    const j = below(random, i + 1);
    [clients[i], clients[j]] = [clients[j]!, clients[i]!];
  }
  return clients;
}

/** The site and its visitors for a seed: the same seed, the same world. */
export function buildSite(seed: number, clientCount = 2_000): Site {
  const random = mulberry32(mix32(seed, 0x517e));
  const paths = buildPaths(random);
  const clients = buildClients(random, clientCount);
  const missing = [
    "/wp-login.php",
    "/.env",
    "/phpmyadmin/",
    "/xmlrpc.php",
    "/admin/config.php",
    ...Array.from({ length: 20 }, (_, i) => `/old/${pick(random, WORDS)}-${i}.html`),
    ...Array.from({ length: 10 }, (_, i) => `/images/${pick(random, WORDS)}-${900 + i}.jpg`),
  ];
  return {
    origin: "https://www.example.com",
    paths,
    pages: paths.flatMap((p, i) => (p.kind === "page" && !p.redirect ? [i] : [])),
    pathRank: new Zipf(paths.length, 1.05),
    clients,
    clientRank: new Zipf(clients.length, 1.1),
    missing,
    notFoundBytes: size(random, 900, 3_000),
  };
}
