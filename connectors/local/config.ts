import { z } from "zod";

export const localBusSchema = z
  .object({
    type: z.literal("local"),
    dir: z.string().default(".logbench/bus").describe("Folder of the file-backed log (one folder per topic)"),
    partitions: z.number().int().min(1).max(64).default(3).describe("Partitions of a topic created on first use"),
    fsync: z.boolean().default(true).describe("fsync every produced batch before acknowledging it"),
  })
  .strict()
  .describe("File-backed log on this machine (the embedded default's bus)");

export const localArchiveSchema = z
  .object({
    type: z.literal("local"),
    dir: z.string().default(".logbench/archive").describe("Root folder of the archive"),
  })
  .strict()
  .describe("A folder on this machine as the archive");

export type LocalBusConfig = z.infer<typeof localBusSchema>;
export type LocalArchiveConfig = z.infer<typeof localArchiveSchema>;
