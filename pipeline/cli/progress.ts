/**
 * One progress line on a terminal (stderr), rewritten in place with `\r`, at most every `intervalMs`:
 *
 *   12,345 lines  3.4 MB  2,000 lines/s  41%  ETA 0:07
 *
 * Quiet when the stream is not a TTY (a pipe, a log file, CI) or when the user asked for quiet, so scripts
 * see only what they asked for. The percentage and ETA come from whichever total is known (bytes for a replay
 * of files, lines for `generate --count`).
 */

/** The part of a stream the line needs (process.stderr, or a fake in tests). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressState {
  lines: number;
  bytes: number;
}

export interface ProgressOptions {
  stream: ProgressStream;
  quiet?: boolean;
  /** What the run will reach, for the percentage and ETA. */
  total?: { lines?: number; bytes?: number };
  /** Default 250 (4 times a second at most). */
  intervalMs?: number;
  now?: () => number;
}

export class Progress {
  readonly enabled: boolean;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly started: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private width = 0;

  constructor(private readonly options: ProgressOptions) {
    this.enabled = options.stream.isTTY === true && !options.quiet;
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 250;
    this.started = this.now();
  }

  /** Redraws the line if the last draw is at least intervalMs old; cheap to call per batch. */
  update(state: ProgressState): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw(formatProgress(state, (now - this.started) / 1000, this.options.total));
  }

  /** The same throttled, TTY-only line for commands whose progress is not lines and bytes (backfill). */
  updateText(text: () => string): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw(text());
  }

  /** Ends a line drawn by updateText, if one was drawn. */
  end(): void {
    if (this.enabled && this.width > 0) this.options.stream.write("\n");
  }

  /** Draws the final numbers and ends the line, so what follows starts on its own line. */
  finish(state: ProgressState): void {
    if (!this.enabled) return;
    this.draw(formatProgress(state, (this.now() - this.started) / 1000, this.options.total));
    this.options.stream.write("\n");
  }

  private draw(text: string): void {
    // Pad over a longer previous line instead of relying on terminal escapes.
    const pad = Math.max(0, this.width - text.length);
    this.width = text.length;
    this.options.stream.write(`\r${text}${" ".repeat(pad)}`);
  }
}

const n = (v: number) => Math.round(v).toLocaleString("en-US");

/** `1:05`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The line's text for a state after `elapsed` seconds. */
export function formatProgress(
  state: ProgressState,
  elapsed: number,
  total: { lines?: number; bytes?: number } = {},
): string {
  const parts = [`${n(state.lines)} lines`, `${(state.bytes / 1e6).toFixed(1)} MB`];
  if (elapsed > 0) parts.push(`${n(state.lines / elapsed)} lines/s`);
  const [done, goal] =
    total.bytes !== undefined
      ? [state.bytes, total.bytes]
      : total.lines !== undefined
        ? [state.lines, total.lines]
        : [];
  if (done !== undefined && goal !== undefined && goal > 0) {
    const fraction = Math.min(1, done / goal);
    parts.push(`${Math.floor(fraction * 100)}%`);
    if (fraction >= 1) parts.push("ETA 0:00");
    else if (done > 0 && elapsed > 0) parts.push(`ETA ${formatDuration(((goal - done) * elapsed) / done)}`);
    else parts.push("ETA --:--");
  }
  return parts.join("  ");
}
