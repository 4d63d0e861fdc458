/**
 * Vitest global setup: one influxd 1.x for the whole run, its URL provided as `influxV1Url`.
 * Test files isolate themselves by database name. If influxd cannot start, the run fails here.
 */
import type { TestProject } from "vitest/node";
import { startInfluxd } from "./influxd.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startInfluxd();
  project.provide("influxV1Url", server.url);
  return () => server.close();
}
