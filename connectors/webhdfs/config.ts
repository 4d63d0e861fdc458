import { z } from "zod";
import { type Component, hostOf } from "../component.ts";
import { duration, httpUrl, secret } from "../config-helpers.ts";
import type { Context } from "../context.ts";
import type { ArchiveStore } from "../types.ts";

export const webhdfsArchiveSchema = z
  .object({
    type: z.literal("webhdfs"),
    url: httpUrl().describe("NameNode HTTP address, e.g. http://namenode:9870"),
    root: z.string().startsWith("/").default("/logbench").describe("HDFS folder under which the archive lives"),
    user: z.string().optional().describe("user.name for simple (pseudo) authentication"),
    delegationToken: secret().optional().describe("Delegation token, normally ${HDFS_DELEGATION_TOKEN}"),
    delegationTokenFile: z.string().optional().describe("File holding a delegation token"),
    dataNodes: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "host or host:port of the DataNodes the NameNode redirects to, for permission flags (deno-flags); default: the NameNode's host, any port",
      ),
    timeout: duration("30s").default(30_000).describe("Time allowed for one HTTP request"),
    retries: z.number().int().min(0).max(10).default(3).describe("Retries of a retryable failure, with backoff"),
    retryBackoff: duration("200ms")
      .default(200)
      .describe("Wait before the first retry; doubles on each retry, capped at 10s (a Retry-After header wins)"),
  })
  .strict()
  .describe("HDFS through the WebHDFS REST API");

export type WebHdfsArchiveConfig = z.infer<typeof webhdfsArchiveSchema>;

/** The WebHDFS archive component. */
export const webhdfsArchive: Component<typeof webhdfsArchiveSchema, Context, Promise<ArchiveStore>> = {
  type: "webhdfs",
  schema: webhdfsArchiveSchema,
  create: async (config, ctx) => (await import("./archive-store.ts")).createWebHdfsArchive(config, ctx),
  addressField: "url",
  describe: (config) => `webhdfs ${config.url}${config.root}`,
  // DataNodes are reached through the NameNode's redirects, so their addresses are only known when listed;
  // without a list, the NameNode's host on any port (a single-host or pseudo-distributed HDFS).
  needs: (config) => ({
    net: [hostOf(config.url), ...(config.dataNodes ?? [new URL(config.url).hostname])],
    read: config.delegationTokenFile ? [config.delegationTokenFile] : [],
  }),
  resolvePaths: (config, paths) => {
    if (!config.delegationTokenFile) return;
    config.delegationTokenFile = paths.abs(config.delegationTokenFile);
    config.delegationToken ??= paths.secret(config.delegationTokenFile, "delegationTokenFile");
  },
};
