import { z } from "zod";
import type { Component } from "../component.ts";
import type { Context } from "../context.ts";
import type { ArchiveStore, Bus } from "../types.ts";

export const localBusSchema = z
  .object({
    type: z.literal("local"),
    dir: z.string().default(".logbench/bus").describe("Folder of the file-backed log (one folder per topic)"),
    partitions: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe("Partitions of a topic created on first use (more only split windows and files: one reader reads all)"),
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

/** The local file-log bus component. */
export const localBus: Component<typeof localBusSchema, Context, Promise<Bus>> = {
  type: "local",
  schema: localBusSchema,
  create: async (config, ctx) => (await import("./file-log.ts")).createLocalBus(config, ctx),
  addressField: "dir",
  describe: (config) => `local ${config.dir}`,
  needs: (config) => ({ read: [config.dir], write: [config.dir] }),
  resolvePaths: (config, paths) => {
    config.dir = paths.abs(config.dir);
  },
};

/** The local-folder archive component. */
export const localArchive: Component<typeof localArchiveSchema, Context, Promise<ArchiveStore>> = {
  type: "local",
  schema: localArchiveSchema,
  create: async (config, ctx) => (await import("./archive-dir.ts")).createLocalArchive(config, ctx),
  addressField: "dir",
  describe: (config) => `local ${config.dir}`,
  needs: (config) => ({ read: [config.dir], write: [config.dir] }),
  resolvePaths: (config, paths) => {
    config.dir = paths.abs(config.dir);
  },
};
