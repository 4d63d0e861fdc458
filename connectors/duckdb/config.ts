import { z } from "zod";
import type { Component } from "../component.ts";
import type { Context } from "../context.ts";
import type { SeriesStore } from "../types.ts";

export const duckdbSeriesSchema = z
  .object({
    type: z.literal("duckdb"),
    file: z.string().default(".logbench/series.duckdb").describe("DuckDB database file holding the series"),
  })
  .strict()
  .describe("A local DuckDB file as the series store (the embedded default)");

export type DuckDbSeriesConfig = z.infer<typeof duckdbSeriesSchema>;

/** The DuckDB-file series store component. */
export const duckdbSeries: Component<typeof duckdbSeriesSchema, Context, Promise<SeriesStore>> = {
  type: "duckdb",
  schema: duckdbSeriesSchema,
  create: async (config, ctx) => (await import("./series-store.ts")).createDuckDbSeriesStore(config, ctx),
  addressField: "file",
  describe: (config) => `duckdb ${config.file}`,
  // .wanted: the signal file another process leaves while it waits for the file (connection.ts).
  needs: (config) => ({
    read: [config.file, `${config.file}.wanted`],
    write: [config.file, `${config.file}.wal`, `${config.file}.wanted`],
  }),
  resolvePaths: (config, paths) => {
    config.file = paths.abs(config.file);
  },
};
