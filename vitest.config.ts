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
    // The scale-out test (two and three daemons in one group, one SIGKILLed) stalled its archive group in 1 of 3
    // clean-clone runs (issue 11's closing note has the log). Until that is fixed it runs on its own:
    // `npm run test:scale-out`. It is not a missing-server skip: it needs only the Kafka mock and influxd.
    exclude: ["**/node_modules/**", ...(process.env.LOGBENCH_SCALE_OUT ? [] : ["test/e2e/scale-out.test.ts"])],
    globalSetup,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
