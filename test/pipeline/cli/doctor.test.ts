/**
 * `logbench doctor --timeout`: a server that accepts and never answers is a FAIL saying "timed out" within the
 * bound (and the command exits), and alert webhooks are checked with HEAD, never sent an alert.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../../pipeline/config/load.ts";
import { freePort, type Receiver, startReceiver } from "../alerts/receiver.ts";

const run = promisify(execFile);

async function doctor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    const r = await run(process.execPath, [resolve(packageRoot, "bin/logbench.js"), "doctor", ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - started };
  }
}

let hung: Server;
let hungPort = 0;
const sockets = new Set<Socket>();
let receiver: Receiver;
beforeAll(async () => {
  // Accepts connections and never answers: what a stuck server looks like.
  hung = createServer((s) => sockets.add(s));
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", () => r()));
  hungPort = (hung.address() as { port: number }).port;
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => hung.close(r));
  await receiver.close();
});

describe("logbench doctor", () => {
  it("bounds each check with --timeout, and checks webhooks with HEAD without sending an alert", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-doctor-"));
    const down = await freePort();
    const file = join(dir, "hung.yaml");
    writeFileSync(
      file,
      `stateDir: ${dir}/state\nbus: {type: local, dir: ${dir}/bus}\narchive: {type: local, dir: ${dir}/archive}\n` +
        `series: {type: influxdb-v1, url: 'http://127.0.0.1:${hungPort}', database: x, timeout: 60s, maxRetries: 0}\n` +
        `alerts:\n  webhooks:\n    - url: ${receiver.url}\n    - url: http://127.0.0.1:${down}/hook\n`,
    );
    const r = await doctor("--config", file, "--timeout", "1500ms");
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^ok +bus +local/);
    expect(lines[1]).toMatch(/^ok +archive +local/);
    expect(lines[2]).toMatch(
      new RegExp(`^FAIL +series +influxdb-v1 http://127\\.0\\.0\\.1:${hungPort}.*: timed out after 1500ms`),
    );
    expect(lines[3]).toBe(
      `ok    webhook  http://127.0.0.1:${receiver.port}/hook: HEAD answered HTTP 200: reachable (no alert sent)`,
    );
    expect(lines[4]).toMatch(new RegExp(`^FAIL +webhook +http://127\\.0\\.0\\.1:${down}/hook: cannot reach it`));
    expect(receiver.methods).toEqual(["HEAD"]);
    expect(receiver.received).toEqual([]);
    // The hung check was abandoned at the bound (60s is the series timeout), and the process exited.
    expect(r.ms).toBeLessThan(30_000);
  });

  it("rejects a --timeout that is not a duration with exit code 2", async () => {
    const r = await doctor("--timeout", "soon");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout: expected a duration like "10s", got "soon"');
  });
});
