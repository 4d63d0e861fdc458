import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Each test server brings its own global setup (start once, provide its address, stop at the end).
const globalSetup = [
  "test/servers/kafka/global.ts",
  "test/servers/webhdfs/global.ts",
  "test/servers/influxdb/global.ts",
].filter((f) => existsSync(f));

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    globalSetup,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
