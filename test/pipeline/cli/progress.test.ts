/** The progress line: what it says, that it redraws at most 4 times a second, and that it is silent off a terminal. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatDuration, formatProgress, Progress } from "../../../pipeline/cli/progress.ts";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (s: string) => writes.push(s) };
}

describe("progress line", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => vi.useRealTimers());

  it("says lines, MB, lines/s, percentage and ETA", () => {
    expect(formatProgress({ lines: 20_000, bytes: 3_400_000 }, 10, { lines: 100_000 })).toBe(
      "20,000 lines  3.4 MB  2,000 lines/s  20%  ETA 0:40",
    );
    // Bytes decide when both are known (a replay knows file sizes, not line counts).
    expect(formatProgress({ lines: 5, bytes: 750 }, 2, { bytes: 1_000 })).toBe(
      "5 lines  0.0 MB  3 lines/s  75%  ETA 0:01",
    );
    expect(formatProgress({ lines: 7, bytes: 0 }, 1)).toBe("7 lines  0.0 MB  7 lines/s");
    expect(formatProgress({ lines: 0, bytes: 0 }, 0, { lines: 9 })).toBe("0 lines  0.0 MB  0%  ETA --:--");
    expect(formatDuration(3_725)).toBe("1:02:05");
  });

  it("redraws in place with \\r at most every 250 ms, and ends with a newline", () => {
    const stream = fakeStream(true);
    const p = new Progress({ stream, total: { lines: 1_000 } });
    for (let ms = 0; ms < 1_000; ms += 10) {
      vi.setSystemTime(ms);
      p.update({ lines: ms, bytes: ms * 100 });
    }
    expect(stream.writes).toHaveLength(4); // at 0, 250, 500 and 750 ms
    for (const w of stream.writes) expect(w.startsWith("\r")).toBe(true);
    expect(stream.writes[1]).toContain("250 lines");
    vi.setSystemTime(2_000);
    p.finish({ lines: 1_000, bytes: 100_000 });
    expect(stream.writes.at(-2)).toContain("1,000 lines  0.1 MB  500 lines/s  100%  ETA 0:00");
    expect(stream.writes.at(-1)).toBe("\n");
  });

  it("pads over a longer previous line", () => {
    const stream = fakeStream(true);
    const p = new Progress({ stream });
    vi.setSystemTime(1_000);
    p.update({ lines: 1_000_000, bytes: 0 });
    vi.setSystemTime(100_000);
    p.update({ lines: 1_000_001, bytes: 0 });
    expect(stream.writes[1]!.length).toBeGreaterThanOrEqual(stream.writes[0]!.length);
  });

  it("writes nothing when the stream is not a terminal, or when asked to be quiet", () => {
    for (const p of [
      new Progress({ stream: fakeStream(false) }),
      new Progress({ stream: fakeStream(true), quiet: true }),
    ]) {
      const stream = (p as unknown as { options: { stream: ReturnType<typeof fakeStream> } }).options.stream;
      p.update({ lines: 1, bytes: 1 });
      p.finish({ lines: 1, bytes: 1 });
      expect(p.enabled).toBe(false);
      expect(stream.writes).toEqual([]);
    }
  });
});

describe("a progress line with its own text (backfill)", () => {
  it("draws on a terminal at most every interval, ends its line, and stays quiet elsewhere", () => {
    let now = 0;
    const tty = {
      isTTY: true,
      out: "",
      write(t: string) {
        this.out += t;
      },
    };
    const line = new Progress({ stream: tty, intervalMs: 250, now: () => now });
    line.updateText(() => "file 1/3");
    now = 100;
    line.updateText(() => "file 2/3");
    now = 300;
    line.updateText(() => "file 3/3");
    line.end();
    expect(tty.out).toBe("\rfile 1/3\rfile 3/3\n");

    const pipe = {
      isTTY: false,
      out: "",
      write(t: string) {
        this.out += t;
      },
    };
    const quiet = new Progress({ stream: pipe });
    quiet.updateText(() => "file 1/1");
    quiet.end();
    expect(pipe.out).toBe("");
  });
});
