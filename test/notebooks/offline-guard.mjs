/**
 * Preloaded with `NODE_OPTIONS=--import …/offline-guard.mjs` around `observable build|preview` in the tests: any
 * fetch to a host that is not loopback fails at once and is written to the file named by
 * LOGBENCH_OFFLINE_LOG, so a test proves the notebooks build with the network unplugged (not only that the
 * CDN happens to be unreachable on this machine).
 */
import { appendFileSync } from "node:fs";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const log = process.env.LOGBENCH_OFFLINE_LOG;
const realFetch = globalThis.fetch;

globalThis.fetch = async function guardedFetch(input, init) {
  const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const url = new URL(href);
  if (!LOOPBACK.has(url.hostname)) {
    if (log) appendFileSync(log, `${url.href}\n`);
    throw new TypeError(`offline guard: refused to fetch ${url.href}`);
  }
  return realFetch(input, init);
};
