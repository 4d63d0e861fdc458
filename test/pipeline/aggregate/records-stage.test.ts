/** One record → one point: tags as strings, numeric fields only (others skipped and counted), time = ts. */
import { describe, expect, it } from "vitest";
import { toPoint } from "../../../pipeline/aggregate/records-stage.ts";

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
