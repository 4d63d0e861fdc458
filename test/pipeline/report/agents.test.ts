/**
 * Agents pinned by hand to the families GoAccess 1.7 gives them (each was checked against the Debian goaccess with
 * a one-line log), one per rule in pipeline/report/agents.ts, so that a change in either library or in the rules
 * fails here with the agent that moved.
 */
import { describe, expect, it } from "vitest";
import { classifyAgent } from "../../../pipeline/report/agents.ts";

const CASES: Array<[agent: string, browser: string, os: string]> = [
  [
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36",
    "Chrome",
    "Windows",
  ],
  ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:27.0) Gecko/20100101 Firefox/27.0", "Firefox", "Linux"],
  ["Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1; .NET CLR 2.0.50727; MAXTHON 2.0)", "MSIE", "Windows"],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.73.11 (KHTML, like Gecko) Version/7.0.1 Safari/537.73.11",
    "Safari",
    "Macintosh",
  ],
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Crawlers", "Crawlers"],
  // GoAccess's contact-URL rule: "; +http" makes a crawler of an agent no list names.
  ["Chef Client/10.18.2 (ruby-1.9.3-p327; ohai-6.16.0; x86_64-linux; +http://opscode.com)", "Crawlers", "Crawlers"],
  ["facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Crawlers", "Crawlers"],
  ["Python-urllib/2.7", "Crawlers", "Crawlers"],
  ["Feedbin - 1 subscribers", "Feeds", "Unknown"],
  ["Safari/9537.73.11 CFNetwork/673.0.3 Darwin/13.0.0 (x86_64) (MacBookPro8%2C1)", "Safari", "iOS"],
  ["Wget/1.14 (linux-gnu)", "Others", "Linux"],
  ["Mozilla/5.0 (X11; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0 SeaMonkey/2.23", "Others", "Linux"],
  // ua-parser-js says "Silk"; GoAccess has no such family and its Safari token decides.
  [
    "Mozilla/5.0 (Linux; U; en-us; KFAPWI Build/JDQ39) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.13 Safari/535.19 Silk-Accelerated=true",
    "Safari",
    "Linux",
  ],
  ["UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/", "Unknown", "Unknown"],
  ["-", "Unknown", "Unknown"],
];

describe("classifyAgent", () => {
  it.each(CASES)("%s", (agent, browser, os) => {
    const c = classifyAgent(agent);
    expect({ browser: c.browser, os: c.os }).toEqual({ browser, os });
  });
});
