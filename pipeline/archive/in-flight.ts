/**
 * Store calls of one roll with a few in flight: each is mostly a wait (a thread of the file system pool, or an
 * HTTP round trip), and without fsyncs they do not compete for the disk. Bounded in count and in the bytes held.
 */
export class InFlight {
  static readonly CALLS = 4;
  static readonly BYTES = 16 * 1024 * 1024;
  private readonly running: Array<{ done: Promise<void>; bytes: number }> = [];
  private bytes = 0;

  /** Start `call` once there is room; a failure is thrown here or by `drain`. */
  async add(bytes: number, call: () => Promise<unknown>): Promise<void> {
    while (this.running.length >= InFlight.CALLS || (this.running.length > 0 && this.bytes + bytes > InFlight.BYTES)) {
      const oldest = this.running.shift()!;
      this.bytes -= oldest.bytes;
      await oldest.done;
    }
    const done = call().then(() => {});
    // Awaited later, in order; until then its failure must not count as unhandled.
    done.catch(() => {});
    this.running.push({ done, bytes });
    this.bytes += bytes;
  }

  /** Wait for every call; the first failure in call order is thrown. */
  async drain(): Promise<void> {
    const all = this.running.splice(0);
    this.bytes = 0;
    const results = await Promise.allSettled(all.map((r) => r.done));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
