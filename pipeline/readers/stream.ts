/** Reading the live stream: the LogEvents that reached the bus in a wall-clock window. */
import type { Bus } from "../../connectors/types.ts";
import { decodeEvent } from "../model/decode-event.ts";
import type { LogEvent } from "../model/log-event.ts";

/**
 * LogEvents whose bus timestamp (ingest time) is in [from, to), from every partition. Messages that are not
 * LogEvents are skipped and counted in `skipped` (the archive stage turns them into dead letters).
 */
export async function readStream(
  bus: Bus,
  topic: string,
  window: { from: number; to: number; limit?: number },
): Promise<{ events: LogEvent[]; skipped: number }> {
  const events: LogEvent[] = [];
  let skipped = 0;
  for (const message of await bus.readWindow(topic, window)) {
    const decoded = decodeEvent(message);
    if ("event" in decoded) events.push(decoded.event);
    else skipped++;
  }
  return { events, skipped };
}
