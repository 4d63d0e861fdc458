/**
 * The bounded tags of the per-window family counts (`requests_by_browser`, `requests_by_os`,
 * `requests_by_status_class`): the report's browser and OS families (pipeline/report/agents.ts, GoAccess's names)
 * folded onto a fixed list plus "Other", and the status class. No tag takes unbounded values: a browser nobody
 * listed becomes "Other", never a new series.
 */
import { classifyAgent } from "../report/agents.ts";

export const OTHER = "Other";
/** Browser families kept as tag values; every other family is "Other". */
export const BROWSER_TAGS: readonly string[] = Object.freeze([
  "Chrome",
  "Firefox",
  "Safari",
  "MSIE",
  "Edge",
  "Opera",
  "Crawlers",
  "Feeds",
  "Unknown",
]);
/** OS families kept as tag values; every other family is "Other". */
export const OS_TAGS: readonly string[] = Object.freeze([
  "Windows",
  "Linux",
  "Macintosh",
  "Android",
  "iOS",
  "Chrome OS",
  "BSD",
  "Crawlers",
  "Unknown",
]);
/** Status classes; an event without a status (or outside 100–599) is "Other". */
export const STATUS_CLASS_TAGS: readonly string[] = Object.freeze(["1xx", "2xx", "3xx", "4xx", "5xx"]);

const BROWSERS = new Set(BROWSER_TAGS);
const OSES = new Set(OS_TAGS);

export function statusClassTag(status: number | null): string {
  return status !== null && status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : OTHER;
}

export interface AgentTags {
  browser: string;
  os: string;
}

/**
 * The agent's tags, classified once per distinct agent. The cache is bounded: when it holds `capacity` agents it
 * starts over, so a stream of ever-new agents costs a parse each, never memory.
 */
export class AgentFamilies {
  private readonly cache = new Map<string, AgentTags>();

  constructor(private readonly capacity = 4096) {}

  of(agent: string | null): AgentTags {
    const key = agent ?? "";
    let tags = this.cache.get(key);
    if (!tags) {
      const c = classifyAgent(key);
      tags = { browser: BROWSERS.has(c.browser) ? c.browser : OTHER, os: OSES.has(c.os) ? c.os : OTHER };
      if (this.cache.size >= this.capacity) this.cache.clear();
      this.cache.set(key, tags);
    }
    return tags;
  }
}
