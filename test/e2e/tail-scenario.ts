/**
 * The seed scenario "a tailed log rotated both ways mid-run", with the real daemon process. The NASA sample lines
 * are written to the followed file in chunks cut anywhere (mid-line too) by a writer that keeps its descriptor as
 * a web server does; the file is rotated by rename at one point (the writer goes on writing the old file for a
 * while, then reopens) and by copytruncate at another (right after a chunk, so the tail has not read all of it);
 * the daemon is SIGKILLed once in between, while it is inside the file, more lines are written while it is down,
 * and it is restarted. The file held history before the first start, which must not show up (followed from the
 * end). Then archive, dead letters and per-minute windows must be exactly what was written.
 */
import { copyFileSync, mkdirSync, renameSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { readPositions } from "../../pipeline/ingest/positions.ts";
import { LogWriter } from "../pipeline/ingest/sources/log-writer.ts";
import { complete, counts, expectExactOutput } from "./check.ts";
import { expectedFromLines, linesOf } from "./expected.ts";
import { SAMPLES, startDaemon, stopDaemon, waitFor } from "./harness.ts";

const INPUT = linesOf([join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")]);
/** Lines already in the file when the daemon first starts (other real lines, so a wrongly read one shows). */
const HISTORY = linesOf([join(SAMPLES, "nasa-jul95-insight-variant.log")]).slice(-20);

/**
 * Where the chunks end, as fractions of the input's bytes: anywhere in a line, except where the file is rotated
 * right after the chunk (a web server writes whole lines, so no line spans two files).
 */
const CUTS = [0.04, 0.09, 0.15, 0.2, 0.26, 0.66, 0.72, 0.78, 0.84, 0.9, 0.95, 1];
const ROTATED_AFTER = new Set([3, 8]);

export function tailSource(dir: string): Record<string, unknown> {
  return {
    type: "tail",
    name: "web",
    paths: [join(dir, "logs", "access.log")],
    format: "clf",
    pollInterval: "100ms",
    rotateWait: "500ms",
    batchLines: 100,
  };
}

interface SavedPosition {
  offset: number;
  path: string;
  dev: number;
  ino: number;
}

export async function tailRotatedBothWays(dir: string, config: string, options: { timeoutMs?: number } = {}) {
  const expected = expectedFromLines(INPUT);
  expect(expected.good.length).toBe(2841);
  expect(expected.bad.length).toBe(89);
  const bytes = Buffer.from(INPUT.map((l) => `${l}\n`).join(""));
  const ends = CUTS.map((f, i) => {
    const at = Math.round(f * bytes.length);
    return ROTATED_AFTER.has(i) ? bytes.indexOf(10, at) + 1 : at;
  });
  const chunks = ends.map((end, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1]!, end));
  expect(ends.filter((e, i) => !ROTATED_AFTER.has(i) && bytes[e - 1] !== 10).length, "chunks cut mid-line").toBe(
    CUTS.length - ROTATED_AFTER.size - 1,
  );
  const logs = join(dir, "logs");
  const access = join(logs, "access.log");
  const saved = (): SavedPosition[] =>
    Object.values(readPositions(join(dir, "state"), "web")?.files ?? {}) as SavedPosition[];
  /** The saved position of the file now at the followed path (not of one rotated away). */
  const live = (): SavedPosition | undefined => {
    const st = statSync(access);
    return saved().find((p) => p.path === access && p.dev === st.dev && p.ino === st.ino);
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const wait = options.timeoutMs ? { timeoutMs: options.timeoutMs } : {};

  mkdirSync(logs, { recursive: true });
  writeFileSync(access, `${HISTORY.join("\n")}\n`);
  const writer = new LogWriter(access);
  let daemon = startDaemon(config);
  try {
    await waitFor(
      "the tail following the file",
      async () => saved(),
      (p) => p.length === 1,
      { daemon, ...wait }, // sources start after both consumer groups: slow on Kafka under load
    );
    for (const chunk of chunks.slice(0, 3)) {
      writer.write(chunk);
      await pause(300);
    }

    // Rename rotation: the server writes the old file until it reopens its log.
    renameSync(access, `${access}.1`);
    writer.write(chunks[3]!);
    await pause(300);
    writer.reopen();
    writer.write(chunks[4]!);
    writer.write(chunks[5]!);

    // SIGKILL while the tail is inside the new file, then more lines while the daemon is down.
    await waitFor(
      "the tail inside the new file",
      async () => live(),
      (p) => p !== undefined && p.offset > 0 && p.offset < statSync(access).size,
      { daemon, intervalMs: 5, ...wait },
    );
    daemon.child.kill("SIGKILL");
    await daemon.exited;
    // The daemon may have saved more batches between the look above and the signal landing; what counts is the last
    // position it saved. (Waiting for an offset past the one that look saw let the wait below pass at once, before the
    // restarted tail had resumed, and the copytruncate then happened while it was still starting.)
    const lastSaved = live();
    expect(lastSaved, "the killed daemon's last saved position of the new file").toBeDefined();
    writer.write(chunks[6]!);
    daemon = startDaemon(config);
    // A truncation is only seen by a running tail: wait until the restarted one has resumed and read on.
    await waitFor(
      "the restarted tail reading",
      async () => live(),
      (p) => (p?.offset ?? 0) > lastSaved!.offset,
      {
        daemon,
        ...wait,
      },
    );
    writer.write(chunks[7]!);
    await pause(300);

    // Copytruncate right after a chunk: what the tail has not read yet is only in the copy.
    writer.write(chunks[8]!);
    renameSync(`${access}.1`, `${access}.2`);
    copyFileSync(access, `${access}.1`);
    truncateSync(access, 0);
    for (const chunk of chunks.slice(9)) {
      writer.write(chunk);
      await pause(300);
    }

    await waitFor("all lines through the pipeline", () => counts(config), complete(expected), { daemon, ...wait });
    expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
    const decided = daemon
      .stderr()
      .split("\n")
      .filter((l) => l.includes('"source":"web"'));
    expect(
      decided.some((l) => l.includes("A followed file was truncated (copytruncate)")),
      `the running tail saw the copytruncate; what the restarted tail decided:\n${decided.join("\n")}`,
    ).toBe(true);
    await expectExactOutput(config, expected);
  } finally {
    writer.close();
    await stopDaemon(daemon, "SIGKILL");
  }
}
