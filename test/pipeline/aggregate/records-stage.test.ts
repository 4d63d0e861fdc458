/**
 * One record → one point: tags as strings, numeric fields only (others skipped and counted), time = ts; a point
 * the store refuses for good becomes a dead letter instead of stopping the group.
 */
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import type {
  Bus,
  BusMessage,
  ProduceRecord,
  SeriesPoint,
  SeriesStore,
  SubscribeOptions,
} from "../../../connectors/types.ts";
import { RecordsStage, toPoint } from "../../../pipeline/aggregate/records-stage.ts";

const stream = {
  source: "pop",
  topic: "weblogs.records.pop",
  measurement: "population",
  tags: ["Nation", "ID Year"],
  fields: ["Population", "Growth"],
};

describe("toPoint", () => {
  it("makes one point with the record's tags, numeric fields and time", () => {
    const record = { Nation: "United States", "ID Year": 2019, Population: 328239523, Growth: 0.48 };
    expect(toPoint({ source: "pop", key: "01000US|2019", ts: 1546300800000, record }, stream)).toEqual({
      point: {
        measurement: "population",
        tags: { source: "pop", Nation: "United States", "ID Year": "2019" },
        fields: { Population: 328239523, Growth: 0.48 },
        time: 1546300800000,
      },
      skipped: 0,
    });
  });

  it("skips a field that is not a number and makes no point when none is left", () => {
    const some = toPoint(
      { source: "pop", key: "k", ts: 1, record: { Nation: "X", Population: 5, Growth: "n/a" } },
      stream,
    );
    expect(some.point?.fields).toEqual({ Population: 5 });
    expect(some.skipped).toBe(1);
    const none = toPoint({ source: "pop", key: "k", ts: 1, record: { Population: "328239523" } }, stream);
    expect(none).toEqual({ point: null, skipped: 2 });
  });
});

describe("RecordsStage", () => {
  it("dead-letters a point the store refuses for good, writes the rest of the batch, and commits", async () => {
    const produced: Array<{ topic: string; values: string[] }> = [];
    const commits: Array<[number, number]> = [];
    let onBatch: ((p: number, m: BusMessage[]) => Promise<void>) | null = null;
    const bus = {
      subscribe: async (o: SubscribeOptions) => {
        onBatch = o.onBatch;
        return { commit: async (p: number, off: number) => void commits.push([p, off]), stop: async () => {} };
      },
      produce: async (topic: string, records: ProduceRecord[]) =>
        void produced.push({ topic, values: records.map((r) => String(r.value)) }),
    } as unknown as Bus;
    const written: SeriesPoint[] = [];
    const series = {
      // Like InfluxDB after the field became an integer: a float for it is a type conflict.
      write: async (points: SeriesPoint[]) => {
        if (points.some((p) => !Number.isInteger(p.fields.Population)))
          throw new LogbenchError("BAD_REQUEST", "field type conflict");
        written.push(...points);
      },
    } as unknown as SeriesStore;
    const stage = new RecordsStage({
      bus,
      series,
      stream,
      group: "aggregate",
      deadLetterTopic: "weblogs.dlq",
      ctx: silentContext(),
    });
    await stage.start();
    const message = (offset: number, population: number): BusMessage => ({
      partition: 1,
      offset,
      key: `k${offset}`,
      timestamp: 0,
      value: new TextEncoder().encode(
        JSON.stringify({ source: "pop", key: `k${offset}`, ts: offset, record: { Population: population } }),
      ),
    });
    await onBatch!(1, [message(10, 5), message(11, 5.5), message(12, 7)]);
    expect(written.map((p) => p.time)).toEqual([10, 12]);
    expect(produced).toHaveLength(1);
    expect(produced[0]!.topic).toBe("weblogs.dlq");
    const letter = JSON.parse(produced[0]!.values[0]!);
    expect(letter).toMatchObject({ file: "weblogs.records.pop", line: 1, offset: 11 });
    expect(letter.reason).toContain("field type conflict");
    expect(commits).toEqual([[1, 13]]);
  });
});
