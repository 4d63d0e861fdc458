/**
 * Where each source got to: per file, its identity (device + inode), the byte offset and line number of the
 * next unread line, and the bus high watermarks right after that point was acknowledged. The watermarks let
 * a restart find exactly what reached the bus after the last saved position (see file-ingest.ts).
 * Saved atomically (write temp, fsync, rename) so a kill -9 leaves the old or the new state, never a mix.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

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
}

export interface SourcePositions {
  files: Record<string, FilePosition>;
}

export class PositionStore {
  private readonly file: string;
  private state: SourcePositions;

  constructor(stateDir: string, sourceName: string) {
    const dir = join(stateDir, "positions");
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${sourceName.replace(/[^\w.-]/g, "_")}.json`);
    try {
      this.state = JSON.parse(readFileSync(this.file, "utf8")) as SourcePositions;
    } catch {
      this.state = { files: {} };
    }
  }

  get(path: string): FilePosition | undefined {
    return this.state.files[path];
  }

  set(path: string, position: FilePosition): void {
    this.state.files[path] = position;
    this.persist();
  }

  delete(path: string): void {
    delete this.state.files[path];
    this.persist();
  }

  private persist(): void {
    // Synchronous on purpose: nothing else may run between deciding a position and making it durable.
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, JSON.stringify(this.state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
