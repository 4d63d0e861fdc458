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

export function statusClassTag(status: number | null): string {
  // The tags themselves, not a new string per event (a template string here was built for every event added).
  return status !== null && status >= 100 && status < 600 ? STATUS_CLASS_TAGS[Math.floor(status / 100) - 1]! : OTHER;
}

export interface AgentTags {
  browser: string;
  os: string;
}

/** Tag values with "Other" last: a family's index is `browser index * FAMILY_OSES.length + os index`. */
const FAMILY_BROWSERS: readonly string[] = [...BROWSER_TAGS, OTHER];
const FAMILY_OSES: readonly string[] = [...OS_TAGS, OTHER];
/** How many (browser, OS) pairs there are. */
const FAMILY_COUNT = FAMILY_BROWSERS.length * FAMILY_OSES.length;
const FAMILIES: readonly AgentTags[] = Array.from({ length: FAMILY_COUNT }, (_, i) => ({
  browser: FAMILY_BROWSERS[Math.floor(i / FAMILY_OSES.length)]!,
  os: FAMILY_OSES[i % FAMILY_OSES.length]!,
}));

/** The tags of a family index (from AgentFamilies.indexOf). */
export function familyTags(index: number): AgentTags {
  return FAMILIES[index]!;
}

/**
 * The agent's tags, classified once per distinct agent. The cache is bounded: when it holds `capacity` agents it
 * starts over, so a stream of ever-new agents costs a parse each, never memory.
 */
export class AgentFamilies {
  private readonly cache = new Map<string, number>();

  constructor(private readonly capacity = 4096) {}

  of(agent: string | null): AgentTags {
    return FAMILIES[this.indexOf(agent)]!;
  }

  /**
   * The (browser, OS) pair as one small number (< FAMILY_COUNT), so that a window counts an event with one small
   * array search instead of two map updates.
   */
  indexOf(agent: string | null): number {
    const key = agent ?? "";
    let index = this.cache.get(key);
    if (index === undefined) {
      const c = classifyAgent(key);
      const b = FAMILY_BROWSERS.indexOf(c.browser);
      const o = FAMILY_OSES.indexOf(c.os);
      index = (b === -1 ? BROWSER_TAGS.length : b) * FAMILY_OSES.length + (o === -1 ? OS_TAGS.length : o);
      if (this.cache.size >= this.capacity) this.cache.clear();
      this.cache.set(key, index);
    }
    return index;
  }
}
