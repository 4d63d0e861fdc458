/** `logbench config check` prints the config with defaults but never a secret, request headers included. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../../pipeline/config/load.ts";

describe("logbench config check", () => {
  it("masks an http-poll source's header values, inline (${ENV}) or read from headerFiles", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-cli-"));
    writeFileSync(join(dir, "key.txt"), "file-secret-4711\n");
    const file = join(dir, "poll.yaml");
    writeFileSync(
      file,
      [
        "sources:",
        "  - type: http-poll",
        "    url: http://127.0.0.1:9/api",
        "    key: [id]",
        "    measurement: m",
        "    fields: [v]",
        '    headers: { Authorization: "Bearer ${LOGBENCH_TEST_POLL_TOKEN}" }',
        "    headerFiles: { X-Api-Key: key.txt }",
        "",
      ].join("\n"),
    );
    const r = spawnSync(
      process.execPath,
      [resolve(packageRoot, "bin/logbench.js"), "config", "check", "--config", file],
      {
        encoding: "utf8",
        env: { ...process.env, LOGBENCH_TEST_POLL_TOKEN: "env-secret-0815" },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Authorization: "***"');
    expect(r.stdout).toContain('X-Api-Key: "***"');
    expect(r.stdout).not.toContain("env-secret-0815");
    expect(r.stdout).not.toContain("file-secret-4711");
  });
});
