/** Bus messages for the aggregate stage's fake-bus tests: one source, "live", on partition 0. */
import type { BusMessage } from "../../../connectors/types.ts";

export const AUG = Date.UTC(1995, 7, 1, 0, 0);
const encoder = new TextEncoder();

/** A LogEvent at `ts` (event time and message timestamp) from one of three hosts. */
export function message(offset: number, ts: number): BusMessage {
  const event = { ts, host: `h${offset % 3}`, ident: null, user: null, method: "GET", path: "/", protocol: null };
  const value = { ...event, status: 200, bytes: 10, referrer: null, agent: null, source: "live" };
  return { partition: 0, offset, key: null, value: encoder.encode(JSON.stringify(value)), timestamp: ts };
}
