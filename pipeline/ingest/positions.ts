/**
 * Where each source got to: per file, its identity (device + inode, and for a tailed file a fingerprint of its
 * first bytes), the byte offset and line number of the next unread line, and the bus high watermarks right after
 * that point was acknowledged. The watermarks let a restart find exactly what reached the bus after the last saved
 * position (see file-ingest.ts).
 *
 * Each save is durable before `set`/`update` returns, and a kill -9 leaves the old or the new state, never a mix:
 * the whole state is written as one checksummed record into `positions/<source>.journal` (position-journal.ts:
 * one pwrite + one fdatasync, no temp file or rename per save). A state saved by an older version as
 * `positions/<source>.json` is read once and replaced by the journal at the first save.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { JournalWriter, readJournal } from "./position-journal.ts";

export interface FilePosition {
  dev: number;
  ino: number;
  /** Byte offset of the next line to read. */
  offset: number;
  /** Lines read so far (the next line is number line + 1). */
  line: number;
  /** Every line is on the bus. */
  done: boolean;
  /** Wall time of the save, epoch ms. */
  savedAt: number;
  /** High watermark per partition of the events and dead-letter topics, right after the save point. */
  marks: { events: Record<string, number>; deadLetters: Record<string, number> };
  /** Where the file was when saved, when the key is not its path (tail: the name dead letters carry). */
  path?: string;
  /** Hash of the file's first bytes (tail): tells a new file that reuses an inode, and finds a file's copy. */
  fingerprint?: { bytes: number; sha256: string };
}

export interface SourcePositions {
  files: Record<string, FilePosition>;
  /**
   * Key of the latest `set()`. A source that reads one file at a time saves a file's position before each of its
   * batches, so after a crash only this file can have lines on the bus past its saved marks (tail uses it).
   */
  last?: string;
}

/** Where a source's positions live: the journal, and the JSON file older versions wrote. */
function positionFiles(stateDir: string, sourceName: string): { journal: string; legacy: string } {
  const base = join(stateDir, "positions", sourceName.replace(/[^\w.-]/g, "_"));
  return { journal: `${base}.journal`, legacy: `${base}.json` };
}

/** The saved state of a source, read without taking it over (tests, diagnostics); null when there is none. */
export function readPositions(stateDir: string, sourceName: string): SourcePositions | null {
  return load(positionFiles(stateDir, sourceName)).state;
}

function load(files: { journal: string; legacy: string }): {
  state: SourcePositions | null;
  record: ReturnType<typeof readJournal>;
} {
  const record = readJournal(files.journal);
  if (record) return { state: JSON.parse(record.payload) as SourcePositions, record };
  try {
    return { state: JSON.parse(readFileSync(files.legacy, "utf8")) as SourcePositions, record: null };
  } catch {
    return { state: null, record: null };
  }
}

export class PositionStore {
  private legacy: string | null;
  private readonly journal: JournalWriter;
  private state: SourcePositions;
  /** No saved state was found: this source has never run here. */
  readonly fresh: boolean;

  constructor(stateDir: string, sourceName: string) {
    mkdirSync(join(stateDir, "positions"), { recursive: true });
    const files = positionFiles(stateDir, sourceName);
    const { state, record } = load(files);
    this.state = state ?? { files: {} };
    this.fresh = state === null;
    this.legacy = record ? null : files.legacy;
    this.journal = new JournalWriter(files.journal, record);
  }

  get(path: string): FilePosition | undefined {
    return this.state.files[path];
  }

  /** Every saved position, by key. */
  entries(): [string, FilePosition][] {
    return Object.entries(this.state.files);
  }

  /** Key of the latest `set()` (see SourcePositions.last). */
  get last(): string | undefined {
    return this.state.last;
  }

  set(path: string, position: FilePosition): void {
    this.state.files[path] = position;
    this.state.last = path;
    this.persist();
  }

  delete(path: string): void {
    this.update({ [path]: null });
  }

  /**
   * Several positions saved (or, for null, removed) in one atomic write. `last` stays unless its position is
   * removed, or `options.last` names the key that takes its place (a file found again under another key).
   */
  update(changes: Record<string, FilePosition | null>, options: { last?: string } = {}): void {
    for (const [key, position] of Object.entries(changes)) {
      if (position) this.state.files[key] = position;
      else delete this.state.files[key];
    }
    if (options.last !== undefined) this.state.last = options.last;
    else if (this.state.last !== undefined && !this.state.files[this.state.last]) delete this.state.last;
    this.persist();
  }

  /** Closes the journal (a later save opens it again). */
  close(): void {
    this.journal.close();
  }

  private persist(): void {
    // Synchronous on purpose: nothing else may run between deciding a position and making it durable.
    this.journal.write(JSON.stringify(this.state));
    if (this.legacy) {
      // The journal holds the state now (and wins over this file when both exist).
      rmSync(this.legacy, { force: true });
      this.legacy = null;
    }
  }
}
