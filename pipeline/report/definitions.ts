/**
 * GoAccess's definitions, so `logbench report` gives GoAccess's numbers for the same log (docs/report.md):
 * its static-file extensions, its request key (method, URL with its query string %XX-decoded once, protocol),
 * and its visitor key (date + host + agent, 4xx responses not counted: `4xx-to-unique-count false`).
 */

/** GoAccess 1.7's default `static-file` extensions (/etc/goaccess/goaccess.conf, uncommented lines). */
export const STATIC_EXTENSIONS: readonly string[] = Object.freeze(
  (
    "css js jpg png gif ico jpeg pdf csv mpeg mpg swf woff woff2 xls xlsx doc docx ppt pptx txt zip ogg mp3 mp4 " +
    "exe iso gz rar svg bmp tar tgz tiff tif ttf flv dmg xz zst"
  ).split(" "),
);

const STATIC_RE = new RegExp(`\\.(${STATIC_EXTENSIONS.join("|")})$`, "i");

/** Whether a path (without its query string) names a static file by GoAccess's extension list. */
export function isStatic(path: string): boolean {
  return STATIC_RE.test(path);
}

/**
 * The request as GoAccess keys it: path + "?" + query, every %XX decoded once to its byte (GoAccess's
 * decode_url). Bytes that are not UTF-8 stay as Latin-1 characters: the key only needs to be the same for the
 * same bytes, and two spellings of one URL (`%3D` and `=`) fall together as they do in GoAccess.
 */
export function requestKey(path: string, query: string | null): string {
  const url = query === null ? path : `${path}?${query}`;
  return url.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** GoAccess's names of the status classes. */
export function statusClass(status: number): string {
  const names: Record<number, string> = {
    1: "1xx Informational",
    2: "2xx Success",
    3: "3xx Redirection",
    4: "4xx Client Errors",
    5: "5xx Server Errors",
  };
  return names[Math.floor(status / 100)] ?? "Unknown";
}

/** The referring site: the host of an absolute referrer URL, null for "-" and relative referrers. */
export function referringSite(referrer: string | null): string | null {
  if (!referrer || referrer === "-") return null;
  return /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(referrer)?.[1] ?? null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The time a raw line holds, epoch ms: a CLF `[17/May/2015:10:05:03 +0000]` or an ISO 8601 timestamp; null when
 * it holds neither (dead letters carry only the time they were recorded, not the line's own).
 */
export function timeOfRawLine(raw: string): number | null {
  const clf = /\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/.exec(raw);
  if (clf) {
    const month = MONTHS.indexOf(clf[2]!);
    if (month < 0) return null;
    const local = Date.UTC(+clf[3]!, month, +clf[1]!, +clf[4]!, +clf[5]!, +clf[6]!);
    const offset = (clf[7] === "-" ? -1 : 1) * (+clf[8]! * 60 + +clf[9]!) * 60_000;
    return local - offset;
  }
  const iso = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/.exec(raw);
  if (iso) {
    const t = Date.parse(iso[0]);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}
