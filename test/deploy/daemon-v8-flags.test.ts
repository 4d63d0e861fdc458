/**
 * The daemon's heap limits (pipeline/cli/daemon-v8-flags.ts) are the same wherever a daemon is started: `npm start`,
 * the Docker image, the systemd unit and `deno task daemon`. The e2e harness and the benches take them from the
 * module itself, so a limit the daemon cannot live with fails the e2e tests, not a user.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DAEMON_DENO_V8_FLAG, DAEMON_V8_FLAGS } from "../../pipeline/cli/daemon-v8-flags.ts";
import { packageRoot } from "../../pipeline/config/load.ts";

const read = (path: string) => readFileSync(join(packageRoot, path), "utf8");

describe("the daemon's heap limits", () => {
  it("are set by npm start, the Docker image, the systemd unit and the Deno task", () => {
    const node = DAEMON_V8_FLAGS.join(" ");
    const start = JSON.parse(read("package.json")).scripts.start as string;
    expect(start).toBe(`node ${node} bin/logbench.js start`);
    expect(read("deploy/docker/Dockerfile")).toContain(`ENV NODE_OPTIONS="${node}"`);
    const unit = read("deploy/systemd/logbench.service");
    const execStart = unit.split("\n").find((l) => l.startsWith("ExecStart="));
    expect(execStart).toContain(`deno run ${DAEMON_DENO_V8_FLAG} $(`);
    const task = JSON.parse(read("deno.json")).tasks.daemon.command as string;
    expect(task).toContain(`deno run ${DAEMON_DENO_V8_FLAG} $(`);
  });

  it("are limits Node accepts", async () => {
    const { execFileSync } = await import("node:child_process");
    const out = execFileSync(
      process.execPath,
      [...DAEMON_V8_FLAGS, "-e", "console.log(require('v8').getHeapStatistics().heap_size_limit)"],
      { encoding: "utf8" },
    );
    // The old space plus the young generation: well under Node's default of several GB, and over the old space.
    const limitMb = Number(out) / 2 ** 20;
    const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(DAEMON_V8_FLAGS.join(" "))![1]);
    expect(limitMb).toBeGreaterThanOrEqual(oldSpace);
    expect(limitMb).toBeLessThan(oldSpace * 2);
  });
});
