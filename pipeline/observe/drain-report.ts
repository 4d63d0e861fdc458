/**
 * What a drain still waits for. The daemon wraps each part of its stop in `step`; while `report` runs, a drain
 * that has not finished logs every `everyMs` which parts are still open, so a stop that hangs names its culprit.
 */
import type { Logger } from "../../connectors/context.ts";

export class DrainReport {
  private readonly waiting = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  /** `work` as it is, counted as open under `name` until it settles; undefined (nothing to stop) stays undefined. */
  step<T>(name: string, work: Promise<T> | undefined): Promise<T> | undefined {
    if (!work) return undefined;
    this.waiting.add(name);
    return work.finally(() => this.waiting.delete(name));
  }

  /** Runs `drain`, logging what is still open every `everyMs` until it settles. */
  async report<T>(drain: () => Promise<T>): Promise<T> {
    const since = Date.now();
    const timer = setInterval(() => {
      const seconds = Math.round((Date.now() - since) / 1000);
      this.logger.warn("Still draining.", { seconds, waitingFor: [...this.waiting] });
    }, this.everyMs);
    timer.unref();
    try {
      return await drain();
    } finally {
      clearInterval(timer);
    }
  }
}
