/**
 * Talking to the daemon's HTTP API from a notebook page (pipeline/api/server.ts): /api/status, /api/windows and
 * its Server-Sent Events twin, /api/stream.arrow. The API sends `Access-Control-Allow-Origin: *`, so the pages
 * served by Framework on another port can read it. When it cannot be reached (a published static build, or
 * the daemon is down) the generators say so, and the page shows its build-time snapshot instead.
 */
import { Generators } from "npm:@observablehq/stdlib";
import type { WindowSummary } from "logbench";

export type { WindowSummary };

/** The API base URL: `?api=…` in the page's address wins over the one the build found in the config. */
export function apiBase(configured: string | null): string | null {
  const given = new URLSearchParams(location.search).get("api");
  const base = given ?? configured;
  return base ? base.replace(/\/+$/, "") : null;
}

export async function getJson<T>(url: string, timeoutMs = 3000): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), cache: "no-store" });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}

export type Feed<T> = { live: true; data: T; at: number } | { live: false; reason: string };

/**
 * Passes a feed value on only when it differs from the last one (the time aside): every value re-runs the
 * cells that use it, re-drawing charts and re-reading snapshots, which an unchanged poll must not cause.
 */
function onChange<T>(notify: (value: Feed<T>) => void): (value: Feed<T>) => void {
  let last = "";
  return (value) => {
    const key = JSON.stringify(value.live ? [true, value.data] : [false, value.reason]);
    if (key === last) return;
    last = key;
    notify(value);
  };
}

/** `/api/status` every `intervalMs`, as a generator of Feed values. */
export function statusFeed(api: string | null, intervalMs = 2000): AsyncGenerator<Feed<Record<string, unknown>>> {
  return Generators.observe((next: (value: Feed<Record<string, unknown>>) => void) => {
    const notify = onChange(next);
    if (!api) {
      notify({ live: false, reason: "no daemon API in the config" });
      return undefined;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        notify({ live: true, data: await getJson(`${api}/api/status`), at: Date.now() });
      } catch (err) {
        notify({ live: false, reason: reasonOf(err, api) });
      }
      if (!stopped) timer = setTimeout(poll, intervalMs);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  });
}

/** A firing alert as `/api/alerts` serves it (pipeline/alerts/engine.ts). */
export interface FiringAlert {
  rule: string;
  type: string;
  severity: string;
  summary: string | null;
  startsAt: number;
  value: number;
  detail: string;
}

/** `/api/alerts` (the alert rules firing now) every `intervalMs`, as a generator of Feed values. */
export function alertsFeed(api: string | null, intervalMs = 5000): AsyncGenerator<Feed<FiringAlert[]>> {
  return Generators.observe((next: (value: Feed<FiringAlert[]>) => void) => {
    const notify = onChange(next);
    if (!api) {
      notify({ live: false, reason: "no daemon API in the config" });
      return undefined;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const body = await getJson<{ alerts: FiringAlert[] }>(`${api}/api/alerts`);
        notify({ live: true, data: body.alerts, at: Date.now() });
      } catch (err) {
        notify({ live: false, reason: reasonOf(err, api) });
      }
      if (!stopped) timer = setTimeout(poll, intervalMs);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  });
}

/**
 * The daemon's windows, newest first, pushed over SSE (`/api/windows/stream`, event "windows"); if the stream
 * cannot be opened, `/api/windows` is polled every 2 s instead.
 */
export function windowsFeed(api: string | null): AsyncGenerator<Feed<WindowSummary[]>> {
  return Generators.observe((next: (value: Feed<WindowSummary[]>) => void) => {
    const notify = onChange(next);
    if (!api) {
      notify({ live: false, reason: "no daemon API in the config" });
      return undefined;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let source: EventSource | undefined;
    const poll = async () => {
      try {
        const body = await getJson<{ windows: WindowSummary[] }>(`${api}/api/windows`);
        notify({ live: true, data: body.windows, at: Date.now() });
      } catch (err) {
        notify({ live: false, reason: reasonOf(err, api) });
      }
      if (!stopped) timer = setTimeout(poll, 2000);
    };
    // First answer from a plain GET: it tells quickly whether the daemon is there at all.
    getJson<{ windows: WindowSummary[] }>(`${api}/api/windows`)
      .then((body) => {
        if (stopped) return;
        notify({ live: true, data: body.windows, at: Date.now() });
        source = new EventSource(`${api}/api/windows/stream`);
        source.addEventListener("windows", (event) => {
          const body = JSON.parse((event as MessageEvent<string>).data) as { windows: WindowSummary[] };
          notify({ live: true, data: body.windows, at: Date.now() });
        });
        source.onerror = () => {
          // The browser retries an EventSource by itself; polling covers the gap and notices a dead daemon.
          source?.close();
          if (!stopped) void poll();
        };
      })
      .catch((err: unknown) => {
        notify({ live: false, reason: reasonOf(err, api) });
        if (!stopped) timer = setTimeout(poll, 5000);
      });
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
    };
  });
}

/** The last `minutes` of the stream as Arrow IPC bytes, from `/api/stream.arrow`. */
export async function fetchStream(api: string, minutes: number): Promise<Uint8Array> {
  const response = await fetch(`${api}/api/stream.arrow?from=-${minutes}m`, { cache: "no-store" });
  if (!response.ok) throw new Error(`${api}/api/stream.arrow answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function reasonOf(err: unknown, api: string): string {
  const message = err instanceof Error ? err.message : String(err);
  return /fetch|network|abort|timed? ?out/i.test(message) ? `the daemon at ${api} does not answer` : message;
}

/** Status class of a status code key ("200" → "2xx"; "-" → "none"). */
export function statusClass(status: string): string {
  return /^[1-5]\d\d$/.test(status) ? `${status[0]}xx` : "other";
}

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toLocaleString("en-US", { maximumFractionDigits: unit === 0 ? 0 : 1 })} ${units[unit]}`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}
