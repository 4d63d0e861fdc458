/**
 * The archive's spool files kept open between batches. `appendFile` opened and closed a bucket's file for every
 * batch, about ten buckets per 1 MiB read on the NASA replay, where one partition gets about 315 events an hour
 * (docs/benchmarks.md). At most `limit` files stay open: writing one more closes the one written longest ago, so a
 * backfill over many hours does not run out of descriptors.
 */
import { type FileHandle, open } from "node:fs/promises";

export class SpoolFiles {
  /** By path, the one written longest ago first. */
  private readonly handles = new Map<string, FileHandle>();

  /** A bucket is written by one or two batches in a row, then not until its roll: the limit only keeps it open across those. */
  constructor(private readonly limit = 64) {}

  /** Appends `data` to the file at `path`, which it creates. */
  async append(path: string, data: Uint8Array): Promise<void> {
    let fh = this.handles.get(path);
    if (fh) this.handles.delete(path);
    else {
      while (this.handles.size >= this.limit) {
        const [oldest, handle] = this.handles.entries().next().value as [string, FileHandle];
        this.handles.delete(oldest);
        await handle.close();
      }
      fh = await open(path, "a");
    }
    try {
      await fh.appendFile(data);
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    this.handles.set(path, fh);
  }

  /** Closes these files if open: before a spool is read or removed. */
  async close(paths: Iterable<string>): Promise<void> {
    for (const path of paths) {
      const fh = this.handles.get(path);
      if (!fh) continue;
      this.handles.delete(path);
      await fh.close();
    }
  }

  async closeAll(): Promise<void> {
    await this.close([...this.handles.keys()]);
  }

  /** Files open now. */
  get size(): number {
    return this.handles.size;
  }
}
