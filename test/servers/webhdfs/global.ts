/**
 * vitest global setup: one WebHDFS test server (NameNode + DataNode on loopback, random ports) for the
 * whole run; tests reach it through inject("webhdfsUrl") and use their own folders in it.
 */
import type { TestProject } from "vitest/node";
import { startWebHdfs } from "./server.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: Awaited<ReturnType<typeof startWebHdfs>>;
  try {
    server = await startWebHdfs();
  } catch (err) {
    throw new Error(`The WebHDFS test server could not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  project.provide("webhdfsUrl", server.url);
  return async () => {
    await server.close();
  };
}
