/**
 * What the many-bucket roll tests share with their child process: a scripted bus (the test calls the group's
 * callbacks itself), the messages (events of one partition spread over many event-time hours, out of hour order,
 * as a replayed backlog is), and an archive stage on a local folder.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import type { Context } from "../../../connectors/context.ts";
import type { ArchiveStore, Bus, BusMessage, SubscribeOptions, Subscription } from "../../../connectors/types.ts";
import { ArchiveStage } from "../../../pipeline/archive/stage.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";

/** Hours the messages fall into: a roll of them writes this many files. */
export const HOURS = 60;
export const MESSAGES = 900;

const enc = new TextEncoder();
const HOUR = 3_600_000;
const START = Date.UTC(1995, 6, 1);

/** Message `offset`: its hour is a fixed scramble of the offset, so each bucket's offsets interleave with others'. */
export function message(offset: number, partition = 0): BusMessage {
  const hour = (offset * 37 + (offset >> 4)) % HOURS;
  return {
    partition,
    offset,
    key: `h${offset % 7}`,
    timestamp: 0,
    value: enc.encode(
      JSON.stringify({
        ts: START + hour * HOUR + offset,
        host: `h${offset % 7}`,
        method: "GET",
        path: `/p/${partition}/${offset}`,
        status: 200,
        bytes: offset,
        source: "roll",
      }),
    ),
  };
}

export const range = (from: number, to: number, partition = 0) =>
  Array.from({ length: to - from }, (_, i) => message(from + i, partition));

/** A bus whose consumer-group callbacks the test calls itself. */
export function scriptedBus(): { bus: Bus; options: () => SubscribeOptions } {
  let options: SubscribeOptions | null = null;
  const sub: Subscription = {
    commit: async () => {},
    seek: () => {},
    assigned: () => [0],
    stop: async () => {},
    done: new Promise<void>(() => {}),
  };
  const bus = {
    kind: "scripted",
    offsetUnit: "messages",
    subscribe: async (o: SubscribeOptions) => {
      options = o;
      return sub;
    },
    produce: async () => {},
  } as unknown as Bus;
  return { bus, options: () => options! };
}

/** A stage that rolls only when told to (revoke or stop), so one roll holds every bucket. */
export function rollingStage(store: ArchiveStore, bus: Bus, scratchDir: string, ctx: Context): ArchiveStage {
  const config = parseConfig({
    archiver: { compression: "snappy", roll: { records: 1_000_000, idle: "1h", interval: "1h" } },
  });
  return new ArchiveStage({
    bus,
    store,
    topic: "weblogs",
    deadLetterTopic: "weblogs.dlq",
    config: config.archiver,
    scratchDir,
    ctx,
    onFatal: (err) => {
      throw err;
    },
  });
}

export interface ArchivedFile {
  /** Path below the archive root. */
  path: string;
  rows: Array<{ ts: number; path: string; bytes: number }>;
}

/** Every published Parquet file under the topic, read with hyparquet (not DuckDB, which wrote them). */
export async function readArchive(root: string): Promise<ArchivedFile[]> {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && !e.name.startsWith("_")) walk(join(d, e.name));
      else if (e.isFile() && e.name.endsWith(".parquet")) found.push(join(d, e.name));
    }
  };
  walk(join(root, "weblogs"));
  return Promise.all(
    found.sort().map(async (f) => {
      const b = readFileSync(f);
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file, columns: ["ts", "path", "bytes"] })) as Array<{
        ts: Date;
        path: string;
        bytes: bigint | number;
      }>;
      return {
        path: f.slice(root.length + 1),
        rows: rows.map((r) => ({ ts: r.ts.getTime(), path: r.path, bytes: Number(r.bytes) })),
      };
    }),
  );
}
