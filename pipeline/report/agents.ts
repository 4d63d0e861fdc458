/**
 * Browser and OS families of a user agent, named as GoAccess names them, from ua-parser-js 1.x (MIT; 2.x is AGPL)
 * and isbot, with the rules GoAccess 1.7 states plainly applied on top (docs/report.md):
 * - an agent that gives a contact URL after "; " or " (" (`; +http`, ` (http`…) is a crawler (its
 *   check_http_crawler), as are those isbot flags that name themselves bot/crawler/spider/feed fetcher;
 * - feed-reader services (Feedbin, Digg Feed Fetcher, …) are "Feeds", whatever browser they quote;
 * - where ua-parser-js finds no browser, GoAccess's product tokens decide: a `Safari/` token is Safari, script
 *   libraries (Python, Ruby, PHP, Java, CFNetwork apps) are crawlers, command-line clients and anything starting
 *   `Mozilla/` are "Others", and the rest is "Unknown".
 * Close to GoAccess (within 5 % for its top families on the elastic sample, archive.org's bot aside), not equal.
 */
import { isbot } from "isbot";
import { UAParser } from "ua-parser-js";

const BROWSER_FAMILY: Record<string, string> = {
  Chromium: "Chrome",
  "Chrome Headless": "Chrome",
  "Chrome WebView": "Chrome",
  "Mobile Chrome": "Chrome",
  IE: "MSIE",
  IEMobile: "MSIE",
  Iceweasel: "Firefox",
  "Mobile Firefox": "Firefox",
  "Mobile Safari": "Safari",
  "Android Browser": "Safari",
  "Opera Mini": "Opera",
  "Opera Mobi": "Opera",
};

const OS_FAMILY: Record<string, string> = {
  "Mac OS": "Macintosh",
  "Chromium OS": "Chrome OS",
  FreeBSD: "BSD",
  NetBSD: "BSD",
  OpenBSD: "BSD",
};
const LINUXES = new Set(
  "Ubuntu CentOS Debian Fedora Mint SUSE openSUSE Gentoo Slackware Mandriva RedHat Arch Kubuntu Xubuntu".split(" "),
);
const CRAWLER_WORDS = /bot|crawl|spider|slurp|feedfetcher|feedburner|rss|archiver|yahoo/i;
/** A contact URL where GoAccess looks for one: `; +http`, `; http`, ` (+http`, ` (http`, `;++http`. */
const CONTACT_URL = /(?:; \+?| \(\+?|;\+\+)http/;
/** Feed-reader services and clients GoAccess files under "Feeds". */
const FEEDS = /Feedbin|Digg Feed Fetcher|theoldreader\.com|NewsBlur|Feedly|Bloglines|Netvibes|Thunderbird\//;
/** Script libraries and app frameworks (no browser in them): GoAccess counts them as crawlers. */
const SCRIPTS = /python|ruby|\bPHP\/|\bJava\/|CFNetwork\/|Embedly/i;
/** Command-line and minor clients GoAccess names but files under "Others". */
const CLIENTS = /^(?:Wget|curl|Links|Lynx|Dalvik)\b|libfetch|libwww-perl|Midori|SeaMonkey|Epiphany|Konqueror/;
/** GoAccess's own families; a ua-parser-js name outside them is refiled by the tokens GoAccess looks for. */
const GOACCESS_FAMILIES = new Set(["Chrome", "Firefox", "MSIE", "Opera", "Safari", "Edge"]);
/** The browser tokens in GoAccess's order of precedence (IE and Opera before Firefox, Chrome before Safari). */
const TOKENS: Array<[RegExp, string]> = [
  [/MSIE|Trident\/7\.0/, "MSIE"],
  [/Opera|OPR\//, "Opera"],
  [/Firefox|Iceweasel|PaleMoon/, "Firefox"],
  [/Chrome|CriOS/, "Chrome"],
  [/Safari/, "Safari"],
];

/** One agent's families, and the version-level items GoAccess lists under each family. */
export interface AgentClass {
  browser: string;
  browserItem: string;
  os: string;
  osItem: string;
  /**
   * A crawler only because isbot names it (no contact URL where GoAccess looks for one, no script library):
   * GoAccess may file such an agent elsewhere (archive.org's bot under "Others"). The report counts them.
   */
  isbotOnly: boolean;
}

const crawler = (agent: string, isbotOnly = false): AgentClass => {
  const name = /([A-Za-z][\w.-]*(?:bot|crawler|spider|slurp)[\w.-]*)/i.exec(agent)?.[1] ?? agent.split(/[\s/;(]/)[0];
  const item = name || "Crawler";
  return { browser: "Crawlers", browserItem: item, os: "Crawlers", osItem: item, isbotOnly };
};

/** Classify one user-agent string (call it once per distinct agent). */
export function classifyAgent(agent: string): AgentClass {
  if (CONTACT_URL.test(agent)) return crawler(agent);
  if (isbot(agent) && CRAWLER_WORDS.test(agent)) return crawler(agent, true);
  const r = new UAParser(agent).getResult();
  const name = r.browser.name;
  let browser = name ? (BROWSER_FAMILY[name] ?? name) : undefined;
  if (FEEDS.test(agent)) browser = "Feeds";
  else if (CLIENTS.test(agent)) browser = "Others";
  else if (!browser || !GOACCESS_FAMILIES.has(browser)) {
    browser = TOKENS.find(([re]) => re.test(agent))?.[1];
    if (!browser && SCRIPTS.test(agent)) return crawler(agent);
    if (!browser) browser = /^Mozilla\/\d/.test(agent) || (!name && r.engine.name) ? "Others" : "Unknown";
  }
  const family = browser ?? "Unknown";
  const major = r.browser.version ?? "";
  const browserItem = name ? `${name}${major ? `/${major}` : ""}` : agent.slice(0, 60) || "-";
  const osName = r.os.name;
  if (family === "Unknown" && !osName)
    return { browser: family, browserItem, os: "Unknown", osItem: "Unknown", isbotOnly: false };
  const os = !osName ? "Unknown" : LINUXES.has(osName) || osName === "linux" ? "Linux" : (OS_FAMILY[osName] ?? osName);
  const osItem = osName ? `${os === "Macintosh" ? "macOS" : os}${r.os.version ? ` ${r.os.version}` : ""}` : "Unknown";
  return { browser: family, browserItem, os, osItem, isbotOnly: false };
}
