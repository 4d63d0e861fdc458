import { z } from "zod";

export const duckdbSeriesSchema = z
  .object({
    type: z.literal("duckdb"),
    file: z.string().default(".logbench/series.duckdb").describe("DuckDB database file holding the series"),
  })
  .strict()
  .describe("A local DuckDB file as the series store (the embedded default)");

export type DuckDbSeriesConfig = z.infer<typeof duckdbSeriesSchema>;
