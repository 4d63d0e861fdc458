import { z } from "zod";
import { duration, httpUrl, secret } from "../config-helpers.ts";

export const webhdfsArchiveSchema = z
  .object({
    type: z.literal("webhdfs"),
    url: httpUrl().describe("NameNode HTTP address, e.g. http://namenode:9870"),
    root: z.string().startsWith("/").default("/logbench").describe("HDFS folder under which the archive lives"),
    user: z.string().optional().describe("user.name for simple (pseudo) authentication"),
    delegationToken: secret().optional().describe("Delegation token, normally ${HDFS_DELEGATION_TOKEN}"),
    delegationTokenFile: z.string().optional().describe("File holding a delegation token"),
    timeout: duration("30s").default(30_000).describe("Time allowed for one HTTP request"),
    retries: z.number().int().min(0).max(10).default(3).describe("Retries of a retryable failure, with backoff"),
    retryBackoff: duration("200ms")
      .default(200)
      .describe("Wait before the first retry; doubles on each retry, capped at 10s (a Retry-After header wins)"),
  })
  .strict()
  .describe("HDFS through the WebHDFS REST API");

export type WebHdfsArchiveConfig = z.infer<typeof webhdfsArchiveSchema>;
