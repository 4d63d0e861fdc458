/**
 * `logbench parse`, run in-process: the counts of issue 4 on the three sample files, stdin, dead
 * letters to a file or stderr, exit codes. (It sits with the ingest tests because it is the parser's CLI.)
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../../../pipeline/cli/io.ts";
import { parseCommand } from "../../../pipeline/cli/parse-command.ts";

const SAMPLES = fileURLToPath(new URL("../../../data/samples/", import.meta.url));

async function run(args: string[], stdin: string | Buffer[] = "", env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const io: CliIo = {
    stdin: Readable.from(typeof stdin === "string" ? [Buffer.from(stdin)] : stdin),
    stdout,
    stderr,
    env,
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

  it("--threads 3 gives what a regex makes of every line, in order, whatever the read sizes", async () => {
    // Good CLF lines, CRLF lines, broken lines, empty lines, lines longer than --max-line-bytes (some spanning
    // many reads) and a last line without a newline; fed in reads of random size (a seeded LCG).
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const MAX = 2000;
    const text: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const k = rand(100);
      const good = `h${rand(50)} - - [10/Oct/2000:13:55:${String(rand(60)).padStart(2, "0")} -0700] "GET /p${i} HTTP/1.0" 200 ${rand(9999)}`;
      if (k < 80) text.push(good);
      else if (k < 85) text.push(`${good}\r`);
      else if (k < 93) text.push(`broken ${i}`);
      else if (k < 95) text.push("");
      else text.push(`${good}${"x".repeat(MAX + rand(3 * MAX))}`);
    }
    const input = Buffer.from(`${text.join("\n")}`);
    const reads: Buffer[] = [];
    for (let at = 0; at < input.length; ) {
      const n = 1 + rand(rand(10) === 0 ? 20_000 : 700);
      reads.push(input.subarray(at, at + n));
      at += n;
    }
    // The oracle: a CLF regex over each line (without its \r), its 1-based number and byte offset.
    const CLF = /^(\S+) \S+ \S+ \[[^\]]+\] "GET (\S+) HTTP\/1\.0" 200 (\d+)$/;
    const wantPaths: string[] = [];
    const wantDead: Array<[number, number]> = [];
    let offset = 0;
    text.forEach((raw, i) => {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      const m = line.length <= MAX ? CLF.exec(line) : null;
      if (m) wantPaths.push(m[2]!);
      else wantDead.push([i + 1, offset]);
      offset += Buffer.byteLength(raw) + 1;
    });
    const dir = await mkdtemp(join(tmpdir(), "parse-threads-"));
    const inputFile = join(dir, "input.log");
    await writeFile(inputFile, input);
    const outputs: string[] = [];
    // One thread; three on standard input (blocks read here); three on the file (ranges the workers read, of
    // 64 KiB so that many lines, long ones too, cross a range's end).
    for (const [threads, from] of [
      ["1", "stdin"],
      ["3", "stdin"],
      ["3", "file"],
    ] as const) {
      const deadFile = join(dir, `dead-${threads}-${from}.ndjson`);
      const args = [
        "--format",
        "clf",
        "--max-line-bytes",
        String(MAX),
        "--dead-letters",
        deadFile,
        "--threads",
        threads,
      ];
      const r =
        from === "stdin"
          ? await run(args, reads)
          : await run([...args, inputFile], "", { LOGBENCH_PARSE_PIECE_BYTES: String(64 * 1024) });
      const file = from === "stdin" ? "stdin" : inputFile;
      expect(r.code, r.stderr).toBe(0);
      const events = lines(r.stdout).map((l) => JSON.parse(l));
      expect(events.map((e) => e.path)).toEqual(wantPaths);
      const letters = lines(await readFile(deadFile, "utf8")).map((l) => JSON.parse(l));
      expect(letters.map((d) => [d.line, d.offset])).toEqual(wantDead);
      expect(new Set(letters.map((d) => d.file))).toEqual(new Set([file]));
      for (const d of letters.filter((d) => Buffer.from(d.rawBase64, "base64").length === MAX))
        expect(d.reason).toMatch(new RegExp(`^line longer than ${MAX} bytes \\(\\d+ bytes\\)`));
      expect(r.stderr).toContain(
        `${text.length.toLocaleString("en-US")} lines, ${wantPaths.length.toLocaleString("en-US")} events`,
      );
      outputs.push(r.stdout);
    }
    // And the threads' output is the one-thread output, byte for byte.
    expect(outputs[1] === outputs[0]).toBe(true);
    expect(outputs[2] === outputs[0]).toBe(true);
  });

  it("exits 2 with a message on bad usage, 1 when an input cannot be read, 0 for --help", async () => {
    const usage: Array<[string[], RegExp]> = [
      [["x.log"], /--format is required/],
      [["--format", "apache", "x.log"], /unknown format "apache"/],
      [["--format", "clf", "--bogus"], /Unknown option '--bogus'/],
      [["--format", "clf", "--json-time", "t"], /--json-\* options apply to --format json only/],
      [["--format", "json", "--json-field", "nope=x"], /--json-field: expected F=PATH/],
      [["--format", "clf", "--max-line-bytes", "0"], /--max-line-bytes/],
      [["--format", "clf", "--threads", "0"], /--threads: expected "auto" or a whole number/],
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
