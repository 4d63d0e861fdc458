/**
 * The daemon's heap limits (pipeline/cli/daemon-v8-flags.ts) are the same wherever a daemon is started: `npm start`,
 * the Docker image, the systemd unit and `deno task daemon`. The e2e harness and the benches take them from the
 * module itself, so a limit the daemon cannot live with fails the e2e tests, not a user.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DAEMON_DENO_V8_FLAG,
  DAEMON_DUCKDB_MALLOC_CONF,
  DAEMON_MALLOC_ENV,
  DAEMON_MALLOC_ENV_WORDS,
  DAEMON_V8_FLAGS,
  useDaemonAllocator,
} from "../../pipeline/cli/daemon-v8-flags.ts";
import { packageRoot } from "../../pipeline/config/load.ts";

const read = (path: string) => readFileSync(join(packageRoot, path), "utf8");

describe("the daemon's heap limits", () => {
  it("are set by npm start, the Docker image, the systemd unit and the Deno task", () => {
    const node = DAEMON_V8_FLAGS.join(" ");
    const start = JSON.parse(read("package.json")).scripts.start as string;
    expect(start).toBe(`${DAEMON_MALLOC_ENV_WORDS} node ${node} bin/logbench.js start`);
    expect(read("deploy/docker/Dockerfile")).toContain(`ENV NODE_OPTIONS="${node}"`);
    const unit = read("deploy/systemd/logbench.service");
    const execStart = unit.split("\n").find((l) => l.startsWith("ExecStart="));
    expect(execStart).toContain(`deno run ${DAEMON_DENO_V8_FLAG} $(`);
    const task = JSON.parse(read("deno.json")).tasks.daemon.command as string;
    expect(task).toContain(`deno run ${DAEMON_DENO_V8_FLAG} $(`);
  });

  it("come with the same malloc settings in the environment of each recipe", () => {
    expect(DAEMON_MALLOC_ENV_WORDS).toBe("MALLOC_ARENA_MAX=2");
    const start = JSON.parse(read("package.json")).scripts.start as string;
    expect(start.startsWith(`${DAEMON_MALLOC_ENV_WORDS} node `)).toBe(true);
    const task = JSON.parse(read("deno.json")).tasks.daemon.command as string;
    expect(task.startsWith(`${DAEMON_MALLOC_ENV_WORDS} ./node_modules/deno/deno run `)).toBe(true);
    const docker = read("deploy/docker/Dockerfile");
    const unit = read("deploy/systemd/logbench.service");
    for (const [name, value] of Object.entries(DAEMON_MALLOC_ENV)) {
      expect(docker).toMatch(new RegExp(`^ENV ${name}=${value}$`, "m"));
      expect(unit).toMatch(new RegExp(`^Environment=${name}=${value}$`, "m"));
    }
  });

  it("reach the daemon through npm start's shell and Deno's task runner", async () => {
    const { execFileSync } = await import("node:child_process");
    // The recipes' own way of setting it, with a command that prints what its process was given.
    const print = `console.log(process.env.MALLOC_ARENA_MAX ?? "unset")`;
    const viaShell = execFileSync("sh", ["-c", `${DAEMON_MALLOC_ENV_WORDS} ${process.execPath} -e '${print}'`], {
      encoding: "utf8",
      env: withoutArenaMax(),
    });
    expect(viaShell.trim()).toBe(DAEMON_MALLOC_ENV.MALLOC_ARENA_MAX);
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "deno-task-"));
    try {
      const command = `${DAEMON_MALLOC_ENV_WORDS} ${process.execPath} -e '${print}'`;
      writeFileSync(join(dir, "deno.json"), JSON.stringify({ tasks: { t: command } }));
      const viaTask = execFileSync(join(packageRoot, "node_modules/deno/deno"), ["task", "-q", "t"], {
        cwd: dir,
        encoding: "utf8",
        env: { ...withoutArenaMax(), NO_COLOR: "1" },
      });
      expect(viaTask.trim()).toBe(DAEMON_MALLOC_ENV.MALLOC_ARENA_MAX);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe("the daemon's DuckDB allocator settings", () => {
  it("are set by the daemon's commands as they load, by no other command, and never over the user's own", async () => {
    const { execFileSync } = await import("node:child_process");
    // A fresh process per command: the CLI's own dispatch, then what the environment holds.
    const envAfter = (command: string, env: NodeJS.ProcessEnv = {}) =>
      execFileSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "--input-type=module",
          "-e",
          `const { main } = await import(${JSON.stringify(join(packageRoot, "pipeline/cli/main.ts"))});
           await main([${JSON.stringify(command)}, "--help"], { stdout: { write() {} }, stderr: { write() {} } });
           process.stdout.write(JSON.stringify(process.env.DUCKDB_JE_MALLOC_CONF ?? null));`,
        ],
        { cwd: packageRoot, encoding: "utf8", env: { ...withoutConf(), ...env } },
      );
    expect(JSON.parse(envAfter("daemon"))).toBe(DAEMON_DUCKDB_MALLOC_CONF);
    expect(JSON.parse(envAfter("start"))).toBe(DAEMON_DUCKDB_MALLOC_CONF);
    expect(JSON.parse(envAfter("query"))).toBeNull();
    expect(JSON.parse(envAfter("daemon", { DUCKDB_JE_MALLOC_CONF: "narenas:2" }))).toBe("narenas:2");
    const env: NodeJS.ProcessEnv = {};
    useDaemonAllocator(env);
    expect(env.DUCKDB_JE_MALLOC_CONF).toBe(DAEMON_DUCKDB_MALLOC_CONF);
  });

  it("are options DuckDB's jemalloc takes, as given (its statistics print the options in force)", async () => {
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(
      process.execPath,
      [
        "-e",
        `const { DuckDBInstance } = require("@duckdb/node-api");
         DuckDBInstance.create(":memory:").then(async (i) => { const c = await i.connect(); await c.run("select 1"); });`,
      ],
      {
        cwd: packageRoot,
        encoding: "utf8",
        env: { ...withoutConf(), DUCKDB_JE_MALLOC_CONF: `${DAEMON_DUCKDB_MALLOC_CONF},stats_print:true` },
      },
    );
    const out = r.stdout + r.stderr;
    expect(out).not.toMatch(/Invalid conf/);
    expect(out).toMatch(/opt\.narenas: 1\b/);
    expect(out).toMatch(/opt\.dirty_decay_ms: 500\b/);
    expect(out).toMatch(/opt\.muzzy_decay_ms: 0\b/);
  });
});

function withoutArenaMax(): NodeJS.ProcessEnv {
  const { MALLOC_ARENA_MAX: _, ...rest } = process.env;
  return rest;
}

function withoutConf(): NodeJS.ProcessEnv {
  const { DUCKDB_JE_MALLOC_CONF: _, ...rest } = process.env;
  return rest;
}
