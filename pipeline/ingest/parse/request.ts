/**
 * The request line `METHOD TARGET PROTOCOL` (RFC 9112 §3) as access logs record it, including what
 * real logs hold instead: `-`, a bare method or path, no protocol (HTTP/0.9), spaces inside the
 * target, TLS handshakes and scanner junk. What can be read is kept; the rest is null.
 */

/** Where splitRequest writes; `junk` is the request text when it is not a request line at all. */
export interface RequestParts {
  method: string | null;
  path: string | null;
  query: string | null;
  protocol: string | null;
  junk: string | null;
}

export function newRequestParts(): RequestParts {
  return { method: null, path: null, query: null, protocol: null, junk: null };
}

// Common methods and protocols come back as constants: no new string per event, and a cheap test.
const COMMON = new Map<string, string>(
  [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "TRACE",
    "HTTP/1.0",
    "HTTP/1.1",
    "HTTP/2.0",
  ].map((s) => [s, s]),
);

function isGet(s: string, start: number, end: number): boolean {
  return (
    end - start === 3 && s.charCodeAt(start) === 71 && s.charCodeAt(start + 1) === 69 && s.charCodeAt(start + 2) === 84
  );
}

function methodAt(s: string, start: number, end: number): string {
  if (isGet(s, start, end)) return "GET";
  const v = s.slice(start, end);
  return COMMON.get(v) ?? v;
}

function protocolAt(s: string, start: number, end: number): string {
  // isProtocol has checked "HTTP/" and a digit.
  if (
    end - start === 8 &&
    s.charCodeAt(start) === 72 &&
    s.charCodeAt(start + 5) === 49 &&
    s.charCodeAt(start + 6) === 46
  ) {
    const minor = s.charCodeAt(start + 7);
    if (minor === 49) return "HTTP/1.1";
    if (minor === 48) return "HTTP/1.0";
  }
  const v = s.slice(start, end);
  return COMMON.get(v) ?? v;
}

/** An HTTP method token (RFC 9110 §9.1 tchar), at most 32 characters. */
function isMethod(s: string, start: number, end: number): boolean {
  if (end <= start || end - start > 32) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      (c >= 48 && c <= 57) ||
      c === 45 ||
      c === 95 ||
      c === 46 ||
      c === 33 ||
      c === 35 ||
      c === 36 ||
      c === 37 ||
      c === 38 ||
      c === 39 ||
      c === 42 ||
      c === 43 ||
      c === 94 ||
      c === 96 ||
      c === 124 ||
      c === 126;
    if (!ok) return false;
  }
  return true;
}

/** `HTTP/` followed by a digit (any case), the only protocols access logs record. */
function isProtocol(s: string, start: number, end: number): boolean {
  return (
    end - start >= 6 &&
    end - start <= 16 &&
    s.charCodeAt(start + 4) === 47 &&
    (s.charCodeAt(start) | 0x20) === 104 &&
    (s.charCodeAt(start + 1) | 0x20) === 116 &&
    (s.charCodeAt(start + 2) | 0x20) === 116 &&
    (s.charCodeAt(start + 3) | 0x20) === 112 &&
    s.charCodeAt(start + 5) >= 48 &&
    s.charCodeAt(start + 5) <= 57
  );
}

/** Splits the target at its first `?`: path and query (without the `?`; "" for a bare `?`). */
export function setTarget(s: string, start: number, end: number, out: RequestParts): void {
  if (end <= start) return;
  const q = s.indexOf("?", start);
  if (q === -1 || q >= end) {
    out.path = s.slice(start, end);
  } else {
    out.path = s.slice(start, q);
    out.query = s.slice(q + 1, end);
  }
}

/** Fills `out` from the request text s[start..end) (already unescaped). */
export function splitRequest(s: string, start: number, end: number, out: RequestParts): void {
  out.method = null;
  out.path = null;
  out.query = null;
  out.protocol = null;
  out.junk = null;
  const n = end - start;
  if (n === 0 || (n === 1 && s.charCodeAt(start) === 45)) return;
  let sp1 = s.indexOf(" ", start);
  if (sp1 >= end) sp1 = -1;
  if (sp1 === -1) {
    // One word: a bare path (`/index.html`), a bare method, or junk.
    if (s.charCodeAt(start) === 47) setTarget(s, start, end, out);
    else if (isMethod(s, start, end)) out.method = methodAt(s, start, end);
    else out.junk = s.slice(start, end);
    return;
  }
  // Nearly every request ends in an 8-character "HTTP/1.x": find its space without searching back.
  const methodOk = isGet(s, start, sp1) || isMethod(s, start, sp1);
  // Nearly every request ends in an 8-character "HTTP/1.x": find its space without searching back.
  let last: number;
  let hasProtocol: boolean;
  if (end - 9 >= sp1 && s.charCodeAt(end - 9) === 32 && isProtocol(s, end - 8, end)) {
    last = end - 9;
    hasProtocol = true;
  } else {
    last = s.lastIndexOf(" ", end - 1);
    hasProtocol = last >= sp1 && isProtocol(s, last + 1, end);
  }
  if (!methodOk) {
    if (s.charCodeAt(start) === 47) {
      // `/path HTTP/1.0` without a method.
      if (hasProtocol) {
        setTarget(s, start, last, out);
        out.protocol = protocolAt(s, last + 1, end);
      } else setTarget(s, start, end, out);
    } else out.junk = s.slice(start, end);
    return;
  }
  out.method = methodAt(s, start, sp1);
  if (hasProtocol) {
    out.protocol = protocolAt(s, last + 1, end);
    // The target is everything between: unescaped spaces inside it stay part of the path.
    if (last > sp1) setTarget(s, sp1 + 1, last, out);
  } else setTarget(s, sp1 + 1, end, out);
}
