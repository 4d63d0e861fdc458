/** The CLI's contract with its users: exit codes, errors that name the field, help that helps. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../../pipeline/config/load.ts";

function logbench(...args: string[]) {
  const r = spawnSync(process.execPath, [resolve(packageRoot, "bin/logbench.js"), ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("logbench CLI", () => {
  it("exits 2 on a config with a wrong field and names the field and the reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-cli-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "archiver:\n  roll:\n    size: huge\nbus:\n  type: local\n  partitons: 3\n");
    const r = logbench("daemon", "--config", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('archiver.roll.size: expected a size like "128MB", got "huge"');
    expect(r.stderr).toContain("partitons");
  });

  it("exits 2 when a config needs an environment variable that is not set, naming both", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-cli-"));
    const file = join(dir, "env.yaml");
    writeFileSync(
      file,
      "series:\n  type: influxdb-v2\n  url: http://127.0.0.1:9\n  org: o\n  bucket: b\n  token: ${LOGBENCH_TEST_UNSET_TOKEN}\n",
    );
    const r = logbench("doctor", "--config", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("series.token: environment variable LOGBENCH_TEST_UNSET_TOKEN is not set");
  });

  it("refuses a non-loopback API without a token", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-cli-"));
    const file = join(dir, "api.yaml");
    writeFileSync(file, "api:\n  host: 0.0.0.0\n");
    const r = logbench("daemon", "--config", file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("api.host: listening on 0.0.0.0 (not loopback) requires api.token");
  });

  it("exits 2 on unknown commands and options, and lists the commands in --help", () => {
    expect(logbench("frobnicate").code).toBe(2);
    expect(logbench("query", "--bogus", "x").code).toBe(2);
    const help = logbench("--help");
    expect(help.code).toBe(0);
    for (const c of ["start", "daemon", "replay", "query", "parse", "doctor"]) expect(help.stdout).toContain(`  ${c}`);
  });

  it("doctor says in one line per server what does not work, and exits 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-cli-"));
    const file = join(dir, "down.yaml");
    writeFileSync(
      file,
      `stateDir: ${dir}/state\nbus: {type: local, dir: ${dir}/bus}\narchive: {type: local, dir: ${dir}/archive}\n` +
        "series: {type: influxdb-v1, url: 'http://127.0.0.1:9', database: x, timeout: 2s, maxRetries: 0}\n",
    );
    const r = logbench("doctor", "--config", file);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ok +bus +local/);
    expect(lines[1]).toMatch(/^ok +archive +local/);
    expect(lines[2]).toMatch(/^FAIL +series +influxdb-v1 http:\/\/127\.0\.0\.1:9/);
  });

  it("doctor says how many files a tail matches and their size, and fails one whose folder is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-cli-"));
    mkdirSync(join(dir, "logs"));
    writeFileSync(join(dir, "logs", "a.log"), "x".repeat(1500));
    writeFileSync(join(dir, "logs", "b.log"), "x".repeat(500));
    writeFileSync(join(dir, "logs", "b.log.1"), "not matched");
    const file = join(dir, "tail.yaml");
    writeFileSync(
      file,
      `stateDir: ${dir}/state\nbus: {type: local, dir: ${dir}/bus}\narchive: {type: local, dir: ${dir}/archive}\n` +
        `series: {type: duckdb, file: ${dir}/series.duckdb}\nsources:\n` +
        `  - {type: tail, name: web, paths: ["${dir}/logs/*.log"]}\n` +
        `  - {type: tail, name: later, paths: ["${dir}/logs/c.log"]}\n` +
        `  - {type: tail, name: typo, paths: ["${dir}/lgos/access.log"]}\n`,
    );
    const r = logbench("doctor", "--config", file);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(3)).toEqual([
      `ok    source   web: tail of ${dir}/logs/*.log: 2 file(s) match, 2.0 kB: ${dir}/logs/a.log 1.5 kB, ${dir}/logs/b.log 500 B`,
      `ok    source   later: tail of ${dir}/logs/c.log: no file matches ${dir}/logs/c.log yet; the source waits for one`,
      `FAIL  source   typo: tail of ${dir}/lgos/access.log: folder ${dir}/lgos does not exist`,
    ]);
  });
});
