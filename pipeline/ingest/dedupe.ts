/**
 * The keys a polling source has already put on the bus, kept across polls and restarts, with the records topic's
 * high watermarks right after they were acknowledged (as positions.ts keeps them for files).
 *
 * Stored append-only in `stateDir/dedupe/<source>.ndjson`: one line per acknowledged batch
 * `{"savedAt", "marks", "lastTs", "keys": [...]}`, fsynced before `add` returns. A kill -9 can tear only the last
 * line; loading drops a torn tail (that batch is then found again on the bus past the previous line's marks, see
 * http-poll.ts). The file is rewritten as one line (temp, fsync, rename) once it holds many more lines than keys
 * would need, so it stays proportional to the set.
 *
 * Memory is bounded: at most `maxKeys` keys are kept; past that the oldest are forgotten (counted by the caller),
 * and a forgotten key that the API serves again is emitted again. Loading applies the same cap in the same order,
 * so a restart forgets exactly what the running source had forgotten.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface DedupeLine {
  /** Wall time of the save, epoch ms. */
  savedAt: number;
  /** High watermark per partition of the records topic, right after these keys were acknowledged. */
  marks: Record<string, number>;
  /** Highest record time put on the bus so far (poll-time records are spread after it). */
  lastTs: number;
  keys: string[];
}

/** Lines past which the file is rewritten as one (when it also holds more entries than twice the set). */
const COMPACT_LINES = 1000;

export class DedupeStore {
  private readonly file: string;
  private readonly seen = new Set<string>();
  private lines = 0;
  private entries = 0;
  /** Keys forgotten because of the cap since the store was opened (including while loading). */
  evicted = 0;
  savedAt = 0;
  marks: Record<string, number> = {};
  lastTs = 0;
  /** False until the first line is saved: a source with no state yet has put nothing on the bus. */
  readonly existed: boolean;

  constructor(
    stateDir: string,
    sourceName: string,
    private readonly maxKeys: number,
  ) {
    const dir = join(stateDir, "dedupe");
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${sourceName.replace(/[^\w.-]/g, "_")}.ndjson`);
    let text = "";
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      // No state yet.
    }
    let good = 0;
    for (const line of text.split("\n")) {
      if (!line) break;
      let parsed: DedupeLine;
      try {
        parsed = JSON.parse(line) as DedupeLine;
      } catch {
        break; // a torn tail: only the last line can be, and its batch is found again on the bus
      }
      this.apply(parsed);
      good += Buffer.byteLength(line) + 1;
    }
    this.existed = this.lines > 0;
    if (good < Buffer.byteLength(text)) {
      const fd = openSync(this.file, "r+");
      try {
        ftruncateSync(fd, good);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records keys (acknowledged by the bus) and the watermarks after them; durable when it returns. */
  add(keys: string[], marks: Record<string, number>, lastTs: number): void {
    const line: DedupeLine = { savedAt: Date.now(), marks, lastTs, keys };
    this.apply(line);
    if (this.lines > COMPACT_LINES && this.entries > 2 * this.seen.size) this.compact();
    else this.append(`${JSON.stringify(line)}\n`);
  }

  private apply(line: DedupeLine): void {
    for (const k of line.keys) {
      this.seen.delete(k); // re-adding moves it to the newest end
      this.seen.add(k);
    }
    while (this.seen.size > this.maxKeys) {
      this.seen.delete(this.seen.values().next().value as string);
      this.evicted++;
    }
    this.savedAt = line.savedAt;
    this.marks = line.marks;
    this.lastTs = Math.max(this.lastTs, line.lastTs);
    this.lines++;
    this.entries += line.keys.length;
  }

  private append(text: string): void {
    // Synchronous on purpose: nothing may run between the bus acknowledging and the keys being durable.
    const fd = openSync(this.file, "a");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private compact(): void {
    const line: DedupeLine = { savedAt: this.savedAt, marks: this.marks, lastTs: this.lastTs, keys: [...this.seen] };
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, `${JSON.stringify(line)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.lines = 1;
    this.entries = this.seen.size;
  }
}
