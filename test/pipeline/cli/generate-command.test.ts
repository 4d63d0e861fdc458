/** `logbench generate` as a user runs it: the real CLI, twice, read back by the real `logbench parse`. */
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { generateCommand } from "../../../pipeline/cli/generate-command.ts";
import { packageRoot } from "../../../pipeline/config/load.ts";

const BIN = resolve(packageRoot, "bin/logbench.js");
const COMBINED =
  /^\S+ - \S+ \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "[A-Z]+ \/\S* HTTP\/[\d.]+" \d{3} (\d+|-) "[^"]*" "[^"]+"$/;

/** The command in this process, with streams that collect what it writes. */
async function inProcess(args: string[]) {
  let stdout = "";
  let stderr = "";
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        add(String(chunk));
        done();
      },
    });
  const io = {
    stdin: Readable.from([]),
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
    env: {},
    cwd: packageRoot,
    signal: new AbortController().signal,
  };
  const code = await generateCommand(args, io);
  return { code, stdout, stderr };
}

function logbench(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, timeout: 90_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe("logbench generate", () => {
  it("prints the same bytes for the same seed, and logbench parse reads them back without a dead letter", async () => {
    const args = ["generate", "--seed", "42", "--count", "1000", "--format", "combined"];
    const first = logbench(args);
    const second = logbench(args);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code).toBe(0);
    expect(first.stderr).toBe(""); // not a terminal: no progress line
    expect(Buffer.compare(first.stdout, second.stdout)).toBe(0);
    const lines = first.stdout.toString().split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(1000);
    expect(lines.filter((l) => COMBINED.test(l))).toHaveLength(1000);
    expect(lines[0]).toContain("[01/Jan/2024:00:00:00 +0000]");
    expect(new Set(lines).size).toBeGreaterThan(900);

    const parsed = logbench(["parse", "--format", "combined"], first.stdout);
    expect(parsed.code, parsed.stderr).toBe(0);
    const events = parsed.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { status: number; host: string });
    expect(events).toHaveLength(1000);
    expect(parsed.stderr).toContain("1,000 lines, 1,000 events, 0 dead letters");
    // The parsed fields are the printed ones (status is the 9th space-separated word of a combined line).
    expect(events.map((e) => e.status)).toEqual(lines.map((l) => Number(l.split(" ")[8])));
    expect(events.map((e) => e.host)).toEqual(lines.map((l) => l.split(" ")[0]));

    const other = await inProcess(["--seed", "43", "--count", "1000", "--format", "combined"]);
    expect(other.code).toBe(0);
    expect(other.stdout).not.toBe(first.stdout.toString());
    expect(other.stdout.split("\n")).toHaveLength(1001);
  });

  it("exits 0 when the reader goes away (| head), without a count", async () => {
    const child = spawn(process.execPath, [BIN, "generate", "--seed", "7"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const got = await new Promise<string>((done) => child.stdout.once("data", (d: Buffer) => done(d.toString())));
    child.stdout.destroy(); // what `head` does once it has its lines
    const code = await new Promise<number | null>((done) => child.on("exit", (c) => done(c)));
    expect(got.length).toBeGreaterThan(0);
    expect(code, err).toBe(0);
  });

  it("exits 2 on a bad option, naming it", async () => {
    for (const [args, text] of [
      [["--rate", "fast"], '--rate: expected a number of lines per second > 0, got "fast"'],
      [["--format", "json"], "the generator writes clf, common, combined, nginx"],
      [["--start", "yesterday"], '--start: expected an ISO 8601 time or "now", got "yesterday"'],
    ] as const) {
      const r = await inProcess([...args, "--count", "1"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(text);
    }
  });
});
