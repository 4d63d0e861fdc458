/**
 * Timestamps of access logs, read by hand from the text (no Date parsing, no regex): the CLF
 * `dd/Mon/yyyy:HH:MM:SS ±hhmm`, ISO 8601, epoch numbers, and the strftime subset Apache's `%{…}t`
 * and JSON mappings use. Every reader validates calendar ranges, so `31/Feb/2024` is refused.
 */

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** 1–12 for a three-letter English month name at s[i] (any case), 0 otherwise. */
export function monthAt(s: string, i: number): number {
  const key = ((s.charCodeAt(i) | 0x20) << 16) | ((s.charCodeAt(i + 1) | 0x20) << 8) | (s.charCodeAt(i + 2) | 0x20);
  switch (key) {
    case 0x6a616e:
      return 1;
    case 0x666562:
      return 2;
    case 0x6d6172:
      return 3;
    case 0x617072:
      return 4;
    case 0x6d6179:
      return 5;
    case 0x6a756e:
      return 6;
    case 0x6a756c:
      return 7;
    case 0x617567:
      return 8;
    case 0x736570:
      return 9;
    case 0x6f6374:
      return 10;
    case 0x6e6f76:
      return 11;
    case 0x646563:
      return 12;
    default:
      return 0;
  }
}

/** Value of the two decimal digits at s[i], or a negative number when either is not a digit. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Value of the `n` decimal digits at s[i], or -1 when any is not a digit. */
export function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Broken-down time collected from one or more time fields of a line (Apache allows
 * `%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t`); `epochMs` wins when a field gave a complete instant.
 */
export class TimeParts {
  epochMs = Number.NaN;
  fracMs = 0;
  year = -1;
  month = 1;
  day = 1;
  hour = 0;
  minute = 0;
  second = 0;
  offsetMin = 0;

  reset(): void {
    this.epochMs = Number.NaN;
    this.fracMs = 0;
    this.year = -1;
    this.month = 1;
    this.day = 1;
    this.hour = 0;
    this.minute = 0;
    this.second = 0;
    this.offsetMin = 0;
  }

  /** Epoch ms, or NaN when no field gave a date or the fields do not form a real date. */
  result(): number {
    if (!Number.isNaN(this.epochMs)) return this.epochMs + this.fracMs;
    if (this.year < 0) return Number.NaN;
    return civilMs(this.year, this.month, this.day, this.hour, this.minute, this.second, this.offsetMin, this.fracMs);
  }
}

/** Epoch ms of a local civil time with its UTC offset in minutes; NaN when a field is out of range. */
export function civilMs(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  offsetMin: number,
  fracMs: number,
): number {
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 60) return Number.NaN;
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi - offsetMin) * 60_000 + s * 1000 + fracMs;
}

/** Fraction digits at s[i..limit) as ms (".5" → 500, ".123456" → 123.456); sets `fracEnd`. */
function fraction(s: string, i: number, limit: number, out: { fracEnd: number }): number {
  let v = 0;
  let scale = 1;
  let k = i;
  while (k < limit && k - i < 9) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    scale *= 10;
    k++;
  }
  out.fracEnd = k;
  // Events carry whole milliseconds: finer digits are truncated, never rounded into the next ms.
  return k === i ? Number.NaN : Math.floor((v * 1000) / scale);
}

/** ±hhmm or ±hh:mm at s[i]; minutes east of UTC, NaN when malformed. Sets `zoneEnd`. */
function zoneAt(s: string, i: number, limit: number, out: { zoneEnd: number }): number {
  const sign = s.charCodeAt(i);
  if (sign === 90 /* Z */) {
    out.zoneEnd = i + 1;
    return 0;
  }
  if ((sign !== 43 && sign !== 45) || i + 3 > limit) return Number.NaN;
  const hh = digitsAt(s, i + 1, 2);
  const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
  const mm = i + 5 + colon <= limit ? digitsAt(s, i + 3 + colon, 2) : -1;
  if (hh < 0 || hh > 23) return Number.NaN;
  if (mm < 0) {
    // ISO 8601 also allows ±hh alone.
    if (colon) return Number.NaN;
    out.zoneEnd = i + 3;
    return sign === 45 ? -hh * 60 : hh * 60;
  }
  if (mm > 59) return Number.NaN;
  out.zoneEnd = i + 5 + colon;
  const m = hh * 60 + mm;
  return sign === 45 ? -m : m;
}

/** Per-parser scratch: where the last fraction / zone ended, and the last date read (lines share dates). */
const scratch = () => ({ fracEnd: 0, zoneEnd: 0, dayKey: -1, days: 0 });
export type TimeScratch = ReturnType<typeof scratch>;
export const newTimeScratch = scratch;

/**
 * CLF time `dd/Mon/yyyy:HH:MM:SS[.fff] ±hhmm` starting at s[i]; returns the index after it, or -1.
 * Writes the instant into `parts.epochMs`.
 */
export function scanClfTime(s: string, i: number, limit: number, parts: TimeParts, tmp: TimeScratch): number {
  if (i + 26 > limit) return -1;
  const d = two(s, i);
  const mo = monthAt(s, i + 3);
  const yh = two(s, i + 7);
  const yl = two(s, i + 9);
  const y = yh < 0 || yl < 0 ? -1 : yh * 100 + yl;
  const h = two(s, i + 12);
  const mi = two(s, i + 15);
  const sec = two(s, i + 18);
  if (
    d < 0 ||
    mo === 0 ||
    y < 0 ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    sec < 0 ||
    sec > 60 ||
    s.charCodeAt(i + 2) !== 47 ||
    s.charCodeAt(i + 6) !== 47 ||
    s.charCodeAt(i + 11) !== 58 ||
    s.charCodeAt(i + 14) !== 58 ||
    s.charCodeAt(i + 17) !== 58
  )
    return -1;
  let k = i + 20;
  let frac = 0;
  if (s.charCodeAt(k) === 46 /* . */) {
    frac = fraction(s, k + 1, limit, tmp);
    if (Number.isNaN(frac)) return -1;
    k = tmp.fracEnd;
  }
  if (s.charCodeAt(k) !== 32) return -1;
  // ±hhmm, the only zone form CLF has.
  const sign = s.charCodeAt(k + 1);
  const zh = two(s, k + 2);
  const zm = two(s, k + 4);
  if ((sign !== 43 && sign !== 45) || zh < 0 || zh > 23 || zm < 0 || zm > 59 || k + 6 > limit) return -1;
  const off = sign === 45 ? -(zh * 60 + zm) : zh * 60 + zm;
  const key = y * 10000 + mo * 100 + d;
  if (key !== tmp.dayKey) {
    if (d < 1 || d > daysInMonth(y, mo)) return -1;
    tmp.dayKey = key;
    tmp.days = daysFromCivil(y, mo, d);
  }
  parts.epochMs = ((tmp.days * 24 + h) * 60 + mi - off) * 60_000 + sec * 1000 + frac;
  return k + 6;
}

/**
 * ISO 8601 / RFC 3339 `YYYY-MM-DD[T ]HH:MM[:SS[.f…]][Z|±hh[:mm]]` at s[i]; returns the index after
 * it, or -1. A time without a zone is taken as UTC (logs that omit it are almost always UTC).
 */
export function scanIsoTime(s: string, i: number, limit: number, parts: TimeParts, tmp: TimeScratch): number {
  if (i + 16 > limit) return -1;
  const y = digitsAt(s, i, 4);
  const mo = digitsAt(s, i + 5, 2);
  const d = digitsAt(s, i + 8, 2);
  const sep = s.charCodeAt(i + 10);
  const h = digitsAt(s, i + 11, 2);
  const mi = digitsAt(s, i + 14, 2);
  if (
    y < 0 ||
    mo < 0 ||
    d < 0 ||
    h < 0 ||
    mi < 0 ||
    s.charCodeAt(i + 4) !== 45 ||
    s.charCodeAt(i + 7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    s.charCodeAt(i + 13) !== 58
  )
    return -1;
  let k = i + 16;
  let sec = 0;
  let frac = 0;
  if (k < limit && s.charCodeAt(k) === 58) {
    sec = k + 3 <= limit ? digitsAt(s, k + 1, 2) : -1;
    if (sec < 0) return -1;
    k += 3;
    const c = s.charCodeAt(k);
    if (k < limit && (c === 46 || c === 44)) {
      frac = fraction(s, k + 1, limit, tmp);
      if (Number.isNaN(frac)) return -1;
      k = tmp.fracEnd;
      // Digits past nanoseconds carry no information for epoch ms; skip them.
      while (k < limit && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) k++;
    }
  }
  let off = 0;
  if (k < limit) {
    const c = s.charCodeAt(k);
    if (c === 90 || c === 122 || c === 43 || c === 45) {
      off = c === 122 ? 0 : zoneAt(s, k, limit, tmp);
      if (Number.isNaN(off)) return -1;
      k = c === 122 ? k + 1 : tmp.zoneEnd;
    }
  }
  const ms = civilMs(y, mo, d, h, mi, sec, off, frac);
  if (Number.isNaN(ms)) return -1;
  parts.epochMs = ms;
  return k;
}

/** A decimal number (optional sign and fraction) filling s[i..end) exactly; NaN otherwise. */
export function decimalIn(s: string, i: number, end: number): number {
  if (i >= end || end - i > 32) return Number.NaN;
  let k = i;
  if (s.charCodeAt(k) === 45) k++;
  let digits = 0;
  let dot = false;
  for (; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return Number.NaN;
  }
  return digits === 0 ? Number.NaN : Number(s.slice(i, end));
}

export const EPOCH_UNITS = { epoch_s: 1000, epoch_ms: 1, epoch_us: 0.001, epoch_ns: 0.000001 } as const;
export type EpochUnit = keyof typeof EPOCH_UNITS;
