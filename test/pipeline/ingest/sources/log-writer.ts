/** Appends to a log the way a web server does: one descriptor opened with O_APPEND, kept across a rename. */
import { closeSync, openSync, writeSync } from "node:fs";

export class LogWriter {
  private fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, "a");
  }
  write(text: string | Uint8Array): void {
    writeSync(this.fd, typeof text === "string" ? Buffer.from(text) : text);
  }
  lines(ls: string[]): void {
    this.write(ls.map((l) => `${l}\n`).join(""));
  }
  /** What the server does on USR1 after logrotate: open the path again (a new file after a rename). */
  reopen(): void {
    closeSync(this.fd);
    this.fd = openSync(this.path, "a");
  }
  close(): void {
    closeSync(this.fd);
  }
}
