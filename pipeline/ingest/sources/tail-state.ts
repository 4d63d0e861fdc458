/**
 * The files a tail source follows and what it knows about each: found again on restart, looked at on every poll
 * (new, renamed, rotated away, deleted, truncated), saved, finished. The reading itself is in tail.ts.
 */

import type { Stats } from "node:fs";
import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger, Metrics } from "../../../connectors/context.ts";
import type { Pending } from "../file-ingest.ts";
import { expandGlobs, globBase } from "../glob.ts";
import type { FilePosition, PositionStore } from "../positions.ts";
import type { Publisher } from "../publisher.ts";
import {
  fileKey,
  fingerprint,
  type Located,
  lastLineEnd,
  locate,
  nameIn,
  openFile,
  readRange,
  recheck,
  sameStart,
} from "./tail-files.ts";

export interface Followed {
  /** Position key: device and inode. */
  key: string;
  /** Open on the file itself, so a rename or a delete does not stop its reading. */
  fh: FileHandle;
  /** As last saved or about to be (path and fingerprint always set). */
  pos: FilePosition;
  /** Size at the last look (-1: look again). */
  size: number;
  /** Size it was read up to; nothing to do until it changes. */
  readTo: number;
  mtimeMs: number;
  /** At one of the followed paths now; false once rotated away or deleted. */
  live: boolean;
  /** Copytruncate's copy: nobody writes to it, so it is finished at its end without waiting. */
  copy: boolean;
  /** When it last grew or stopped being live (for rotateWait). */
  changedAt: number;
  /** Lines already on the bus past the saved marks (after a crash), skipped once as they are met. */
  pending: Pending | null;
}

interface Settings {
  name: string;
  paths: string[];
  fromStart: boolean;
}

export class FollowedFiles {
  private readonly files = new Map<string, Followed>();
  private first = true;
  private readonly warned = new Set<string>();

  constructor(
    private readonly config: Settings,
    private readonly positions: PositionStore,
    private readonly publisher: Publisher,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    metrics.describe("logbench_source_files_lost_total", "counter", "Files whose unread lines could not be read");
  }

  /** Finds every saved file again; the one saved last gets what recovery finds on the bus for it. */
  async resume(pendingOf: (pos: FilePosition) => Promise<Pending | null>): Promise<void> {
    const changes: Record<string, FilePosition | null> = {};
    let last: string | undefined;
    for (const [key, pos] of this.positions.entries()) {
      if (pos.done || !pos.path || !pos.fingerprint) {
        changes[key] = null;
        continue;
      }
      const found = await locate(pos, new Set(this.files.keys()));
      if (!found) {
        this.lost(
          "A followed file was not found again (deleted, compressed or moved away while the daemon was down); what it held after the saved position was not read.",
          pos,
        );
        changes[key] = null;
        continue;
      }
      const f = this.add(found, { ...pos, dev: found.st.dev, ino: found.st.ino, path: found.path }, false);
      if (key === this.positions.last) {
        f.pending = await pendingOf(pos);
        if (f.key !== key) last = f.key; // the file's old marks stay the ones recovery starts from
      }
      if (f.key !== key) changes[key] = null;
      if (f.key !== key || found.path !== pos.path) changes[f.key] = f.pos;
      this.logResumed(pos, found);
    }
    if (Object.keys(changes).length > 0) this.positions.update(changes, last ? { last } : {});
  }

  /** What resume decided for a saved position: each way of finding a file again reads other bytes next. */
  private logResumed(pos: FilePosition, found: Located): void {
    if (found.copy) {
      this.log.info(
        "A followed file was found again as a copy beside it (copytruncate while the daemon was down): the copy is read on from the saved position, then finished; the file now at the followed path is taken as a new one, from 0, unless another saved position names it.",
        { file: pos.path, copy: found.path, offset: pos.offset, because: found.because },
      );
    } else if (found.path !== pos.path) {
      this.log.info(
        "A followed file was found again under another name (renamed while the daemon was down); it is read on from the saved position.",
        { was: pos.path, now: found.path, offset: pos.offset },
      );
    } else {
      this.log.info("A followed file was found again; it is read on from the saved position.", {
        file: pos.path,
        offset: pos.offset,
      });
    }
  }

  /** One look at the followed paths: new files, renames, files rotated away, deleted or truncated. */
  async scan(): Promise<void> {
    const now = Date.now();
    const seen = new Map<string, { path: string; st: Stats }>();
    for (const path of await expandGlobs(this.config.paths)) {
      const st = await stat(path).catch(() => null);
      if (st?.isFile() && !seen.has(fileKey(st))) seen.set(fileKey(st), { path, st });
    }
    const dirty = new Set<string>();
    for (const f of [...this.files.values()]) {
      const at = seen.get(f.key);
      seen.delete(f.key);
      if (at) {
        f.live = true;
        if (at.path !== f.pos.path) {
          f.pos = { ...f.pos, path: at.path };
          dirty.add(f.key);
        }
        const fp = await recheck(f.fh, f.pos.fingerprint!, at.st.size);
        if (fp && at.st.size >= f.pos.offset)
          f.pos = { ...f.pos, fingerprint: fp }; // saved with the next batch
        else for (const key of await this.truncated(f, at.st, now, seen)) dirty.add(key);
      } else if (f.live) {
        f.live = false;
        f.changedAt = now;
        const was = f.pos.path!;
        const links = (await f.fh.stat()).nlink;
        const moved = links > 0 ? await nameIn(dirname(was), f.key) : null;
        if (moved) {
          f.pos = { ...f.pos, path: moved };
          dirty.add(f.key);
        }
        this.log.info("A followed file was rotated away; it is read to its end before the next one.", {
          file: was,
          now: moved ?? (links > 0 ? "(moved out of its folder)" : "(deleted)"),
        });
      }
    }
    await this.discover(seen, now, dirty);
    if (dirty.size > 0 || this.first) {
      // update() keeps `last`: nothing here is published, so the file saved last stays the only one to recover.
      this.positions.update(Object.fromEntries([...dirty].map((k) => [k, this.files.get(k)!.pos])));
    }
    this.first = false;
  }

  private async discover(seen: Map<string, { path: string; st: Stats }>, now: number, dirty: Set<string>) {
    const veryFirst = this.first && this.positions.fresh;
    const fromEnd = veryFirst && !this.config.fromStart;
    let marks: FilePosition["marks"] | undefined;
    for (const [key, at] of seen) {
      if (this.files.has(key)) continue; // a copy a truncation just claimed
      let opened: Awaited<ReturnType<typeof openFile>>;
      try {
        opened = await openFile(at.path);
      } catch (err) {
        this.warnOnce(at.path, "A file matches the followed paths but cannot be opened; it is skipped.", err);
        continue;
      }
      if (!opened) continue;
      if (fileKey(opened.st) !== key) {
        await opened.fh.close(); // renamed between the look and the open: the next scan sees it right
        continue;
      }
      // A new file that starts like a followed one is a copy of it (copytruncate copies, then truncates; a big
      // copy takes a while): it is left alone until the truncation claims it, or it turns out to differ.
      if (!veryFirst && (await this.startsLikeFollowed(opened.fh))) {
        await opened.fh.close();
        continue;
      }
      const offset = fromEnd ? await lastLineEnd(opened.fh, opened.st.size) : 0;
      marks ??= await this.publisher.marks();
      const pos: FilePosition = {
        dev: opened.st.dev,
        ino: opened.st.ino,
        offset,
        line: 0,
        done: false,
        savedAt: now,
        marks,
        path: at.path,
        fingerprint: await fingerprint(opened.fh, opened.st.size),
      };
      const f = this.add({ ...opened, path: at.path, copy: false }, pos, true);
      dirty.add(f.key);
      this.log.info("Following a file.", { file: at.path, from: offset });
    }
  }

  /** `f` shrank or its first bytes changed: its copy (if one is beside it) goes on from f's position. */
  private async truncated(f: Followed, st: Stats, now: number, seen: ReadonlyMap<string, unknown>): Promise<string[]> {
    const copy = await locate(f.pos, new Set(this.files.keys()));
    const keys = [f.key];
    if (copy) {
      // A copy the followed paths match stays followed (finishing it would make it a new file at the next scan).
      const live = seen.has(fileKey(copy.st));
      const c = this.add(copy, { ...f.pos, dev: copy.st.dev, ino: copy.st.ino, path: copy.path }, live);
      c.pending = f.pending;
      keys.push(c.key);
      this.log.info("A followed file was truncated (copytruncate); its copy is read on, then the file from 0.", {
        file: f.pos.path,
        copy: copy.path,
        offset: f.pos.offset,
      });
    } else if (f.size > f.pos.offset) {
      this.lost("A followed file was truncated before it was read to its end and no copy of it is beside it.", {
        ...f.pos,
        unreadBytes: f.size - f.pos.offset,
      });
    } else {
      this.log.warn("A followed file was truncated and no copy of it is beside it; reading it from 0.", {
        file: f.pos.path,
        offset: f.pos.offset,
      });
    }
    f.pending = null;
    f.pos = { ...f.pos, offset: 0, line: 0, fingerprint: await fingerprint(f.fh, st.size) };
    f.size = -1;
    f.readTo = -1;
    f.changedAt = now;
    return keys;
  }

  /**
   * Whether a new file starts as a followed one does, or did: its first bytes are the followed file's now, or those
   * its fingerprint was taken from. The second catches a copy found in the scan during which its original was
   * truncated (the original's check passed just before, and it is empty now).
   */
  private async startsLikeFollowed(fh: FileHandle): Promise<boolean> {
    for (const f of this.files.values()) {
      if (!f.live) continue;
      if (await sameStart(fh, f.fh)) return true;
      const fp = f.pos.fingerprint;
      if (fp && fp.bytes > 0 && (await recheck(fh, fp, Number.MAX_SAFE_INTEGER)) !== null) return true;
    }
    return false;
  }

  private add(found: Located, pos: FilePosition, live: boolean): Followed {
    const f: Followed = {
      key: fileKey(found.st),
      fh: found.fh,
      pos,
      size: found.st.size,
      readTo: -1,
      mtimeMs: found.st.mtimeMs,
      live,
      copy: found.copy,
      changedAt: Date.now(),
      pending: null,
    };
    this.files.set(f.key, f);
    return f;
  }

  /** Saves `f`'s position with `change`, taking fresh bus marks: after a batch, or before its first one. */
  async save(f: Followed, change: Partial<FilePosition>): Promise<void> {
    f.pos = { ...f.pos, ...change, savedAt: Date.now(), marks: await this.publisher.marks() };
    this.positions.set(f.key, f.pos);
  }

  /** Every line of `f` is on the bus: its position is marked done (a crash here loses nothing), then dropped. */
  async finish(f: Followed): Promise<void> {
    this.positions.update({ [f.key]: { ...f.pos, done: true } });
    this.positions.update({ [f.key]: null });
    this.files.delete(f.key);
    await f.fh.close();
  }

  /** `f`'s bytes from its position to `to`; throws FileChanged if it is truncated meanwhile. */
  range(f: Followed, to: number): AsyncIterable<Uint8Array> {
    return readRange(f.fh, f.pos.offset, to, async () => {
      // A young file's fingerprint grows here too, as its first bytes are read, not only at the next scan.
      const fp = await recheck(f.fh, f.pos.fingerprint!, Number.MAX_SAFE_INTEGER);
      if (fp) f.pos = { ...f.pos, fingerprint: fp };
      return fp !== null;
    });
  }

  /** Recovering first, then rotated files oldest first, then the live ones. */
  inReadingOrder(): Followed[] {
    const rank = (f: Followed) => (f.pending ? 0 : f.live ? 2 : 1);
    return [...this.files.values()].sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (a.live ? 0 : a.mtimeMs - b.mtimeMs) ||
        (a.pos.path! < b.pos.path! ? -1 : a.pos.path! > b.pos.path! ? 1 : 0),
    );
  }

  backlogBytes(): number {
    let n = 0;
    for (const f of this.files.values()) n += Math.max(0, f.size - f.pos.offset);
    return n;
  }

  rotatedCount(): number {
    let n = 0;
    for (const f of this.files.values()) if (!f.live) n++;
    return n;
  }

  /** fs.watch on the followed folders, as a hint to look sooner; polling does not depend on it. */
  watch(wake: () => void): () => void {
    const watchers: FSWatcher[] = [];
    for (const dir of new Set(this.config.paths.map(globBase))) {
      try {
        const w = watch(dir, { persistent: false }, () => wake());
        w.on("error", () => w.close());
        watchers.push(w);
      } catch {
        // A folder that is not there yet, or a platform without watch: polling finds the files.
      }
    }
    return () => {
      for (const w of watchers) w.close();
    };
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.files.values()].map((f) => f.fh.close()));
    this.files.clear();
  }

  private lost(message: string, pos: FilePosition & { unreadBytes?: number }): void {
    this.metrics.inc("logbench_source_files_lost_total", { source: this.config.name });
    this.log.error(message, { file: pos.path, offset: pos.offset, unreadBytes: pos.unreadBytes });
  }

  private warnOnce(path: string, message: string, err: unknown): void {
    if (this.warned.has(path)) return;
    this.warned.add(path);
    this.log.warn(message, { file: path, err });
  }
}
