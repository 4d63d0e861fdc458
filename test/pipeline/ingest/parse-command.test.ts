/**
 * `logbench parse`, run in-process: the counts of issue 4 on the three sample files, stdin, dead
 * letters to a file or stderr, exit codes. (It sits with the ingest tests because it is the parser's CLI.)
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../../../pipeline/cli/io.ts";
import { parseCommand } from "../../../pipeline/cli/parse-command.ts";

const SAMPLES = fileURLToPath(new URL("../../../data/samples/", import.meta.url));

async function run(args: string[], stdin = "") {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const io: CliIo = {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout,
    stderr,
    env: {},
    cwd: SAMPLES,
    signal: new AbortController().signal,
  };
  const code = await parseCommand(args, io);
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe("logbench parse", () => {
  it("prints the sample files' counts: 1,000 / 1,841 + 89 / 9,999 + 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parse-cli-"));
    const cases: Array<[string, string, number, number]> = [
      ["clf", "nasa-jul95-first1000.log", 1000, 0],
      ["clf", "nasa-aug95-excerpt-broken.log", 1841, 89],
      ["combined", "elastic-apache-combined.log", 9999, 1],
    ];
    for (const [format, file, events, dead] of cases) {
      const deadFile = join(dir, `${file}.dead.ndjson`);
      const r = await run(["--format", format, "--dead-letters", deadFile, file]);
      expect(r.code).toBe(0);
      const summary = lines(r.stderr);
      expect(summary).toHaveLength(1);
      expect(summary[0]).toMatch(
        new RegExp(
          `^logbench parse: ${(events + dead).toLocaleString("en-US")} lines, ${events.toLocaleString("en-US")} events, ${dead} dead letters? in [\\d.]+ s \\([\\d,]+ lines/s\\)$`,
        ),
      );
      const out = lines(r.stdout).map((l) => JSON.parse(l));
      expect(out).toHaveLength(events);
      expect(out[0]).toMatchObject({ source: "cli", ts: expect.any(Number), status: expect.any(Number) });
      const letters = lines(await readFile(deadFile, "utf8")).map((l) => JSON.parse(l));
      expect(letters).toHaveLength(dead);
      for (const d of letters) expect(d).toMatchObject({ source: "cli", file, reason: expect.any(String) });
    }
  });

  it("reads standard input and writes dead letters to standard error without --dead-letters", async () => {
    const input = 'h - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 5\r\nnot a log line\n';
    const r = await run(["--format", "common", "--source", "stdin-test", "--keep-raw"], input);
    expect(r.code).toBe(0);
    const events = lines(r.stdout).map((l) => JSON.parse(l));
    expect(events).toEqual([
      expect.objectContaining({
        path: "/a",
        source: "stdin-test",
        raw: 'h - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 5',
      }),
    ]);
    const [dead, summary] = lines(r.stderr);
    expect(JSON.parse(dead!)).toMatchObject({ file: "stdin", line: 2, offset: 60, raw: "not a log line" });
    expect(summary).toMatch(/^logbench parse: 2 lines, 1 events, 1 dead letter in /);
  });

  it("maps JSON fields given on the command line", async () => {
    const input = '{"at":1714557600,"ip":"::1","code":"404"}\n';
    const r = await run(
      [
        "--format",
        "json",
        "--json-time",
        "at",
        "--json-time-format",
        "epoch_s",
        "--json-field",
        "host=ip",
        "--json-field",
        "status=code",
      ],
      input,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ts: 1714557600000, host: "::1", status: 404 });
  });

  it("exits 2 with a message on bad usage, 1 when an input cannot be read, 0 for --help", async () => {
    const usage: Array<[string[], RegExp]> = [
      [["x.log"], /--format is required/],
      [["--format", "apache", "x.log"], /unknown format "apache"/],
      [["--format", "clf", "--bogus"], /Unknown option '--bogus'/],
      [["--format", "clf", "--json-time", "t"], /--json-\* options apply to --format json only/],
      [["--format", "json", "--json-field", "nope=x"], /--json-field: expected F=PATH/],
      [["--format", "clf", "--max-line-bytes", "0"], /--max-line-bytes/],
    ];
    for (const [args, message] of usage) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const missing = await run(["--format", "clf", "no-such-file.log"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/reading no-such-file.log: ENOENT/);
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: logbench parse --format F/);
    expect(help.stdout).toContain("--dead-letters FILE");
  });
});
