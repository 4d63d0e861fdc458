/**
 * Gathers events and dead letters from many producers (a streaming source's connections) into one batch that
 * is published when it holds `batchLines` records or `flushInterval` ms after its first record. Publishes run
 * one at a time, in order, so each producer's lines keep their order on the bus.
 *
 * Memory is bounded: one batch is being published while the next fills; producers await `room()` before
 * adding, which waits while that next batch is full as well (the source stops reading its input meanwhile).
 */
import type { DeadLetter, LogEvent } from "../model/log-event.ts";

export type PublishBatch = (events: LogEvent[], deadLetters: DeadLetter[]) => Promise<void>;

export interface LineBatcherOptions {
  batchLines: number;
  flushInterval: number;
  /** Called once per lost batch when a publish failed for good (the records are then counted as lost). */
  onLost?: (records: number, err: unknown) => void;
}

export class LineBatcher {
  private events: LogEvent[] = [];
  private deadLetters: DeadLetter[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private waiters: Array<() => void> = [];
  private failure: unknown = null;
  private fail!: (err: unknown) => void;
  /** Rejects when a publish failed for good; the source then stops. Never resolves. */
  readonly failed: Promise<never>;

  constructor(
    private readonly options: LineBatcherOptions,
    private readonly publish: PublishBatch,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    this.failed.catch(() => {}); // observed by the source's run(); not an unhandled rejection meanwhile
  }

  /** Records waiting in the batch that is not yet being published. */
  get size(): number {
    return this.events.length + this.deadLetters.length;
  }

  /** Resolves when there is room in the filling batch (at once, unless it is full while another publishes). */
  room(): Promise<void> {
    if (this.size < this.options.batchLines || this.failure !== null) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  event(e: LogEvent): void {
    this.events.push(e);
  }

  dead(d: DeadLetter): void {
    this.deadLetters.push(d);
  }

  /** After a producer added its records: publish when full, otherwise make sure the timer runs. */
  added(): void {
    if (this.size === 0) return;
    if (this.size >= this.options.batchLines) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushInterval);
  }

  /** Publishes what is waiting; resolves once it (and every earlier batch) is acknowledged or lost. */
  flush(): Promise<void> {
    if (!this.queued) {
      this.queued = true;
      this.chain = this.chain.then(() => this.publishWaiting());
    }
    return this.chain;
  }

  private async publishWaiting(): Promise<void> {
    this.queued = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const events = this.events;
    const deadLetters = this.deadLetters;
    this.events = [];
    this.deadLetters = [];
    for (const wake of this.waiters.splice(0)) wake();
    if (events.length + deadLetters.length === 0) return;
    if (this.failure !== null) {
      this.options.onLost?.(events.length + deadLetters.length, this.failure);
      return;
    }
    try {
      await this.publish(events, deadLetters);
    } catch (err) {
      this.failure = err;
      this.options.onLost?.(events.length + deadLetters.length, err);
      this.fail(err);
    }
    // Records added while this batch was out may already fill the next one.
    if (this.size >= this.options.batchLines) void this.flush();
    else if (this.size > 0) this.timer ??= setTimeout(() => void this.flush(), this.options.flushInterval);
  }
}
