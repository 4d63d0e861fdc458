/**
 * The lifecycle every Bus subscription shares, as one small state machine:
 *
 *   starting ──► running ──► stopping ──► stopped   (stop(): shutdown finished cleanly)
 *       └──────────────────────►  │  ──► failed    (fail(), or shutdown itself threw)
 *
 * It answers the questions the consuming loops ask ("may I go on?", "has it ended?") from one field instead
 * of loose flags, runs the subscription's shutdown exactly once, and settles `done` exactly once: resolved
 * after a clean stop, rejected with the first failure (a failure wins over an error of the shutdown itself).
 */
import { LogbenchError } from "./errors.ts";

export type LifecycleState = "starting" | "running" | "stopping" | "stopped" | "failed";

const NEXT: Record<LifecycleState, readonly LifecycleState[]> = {
  starting: ["running", "stopping"],
  running: ["stopping"],
  stopping: ["stopped", "failed"],
  stopped: [],
  failed: [],
};

export class SubscriptionLifecycle {
  /** Settles when the subscription has ended: resolves after stop(), rejects with the error that ended it. */
  readonly done: Promise<void>;
  private current: LifecycleState = "starting";
  private firstFailure: { error: unknown } | null = null;
  private finishing: Promise<void> | null = null;
  private settle!: (end: { error: unknown } | null) => void;

  /** `shutdown` stops the work (drain, revoke, leave); it runs once, on the first stop() or fail(). */
  constructor(private readonly shutdown: () => Promise<void>) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (end) => (end ? reject(end.error) : resolve());
    });
    // Callers may only await stop(); the rejection still reaches whoever awaits done.
    this.done.catch(() => {});
  }

  get state(): LifecycleState {
    return this.current;
  }

  /** Starting or running, with no stop or failure yet: the loops may take more work. */
  get active(): boolean {
    return this.current === "starting" || this.current === "running";
  }

  /** Stopped or failed: nothing runs any more (commits must be refused). */
  get ended(): boolean {
    return this.current === "stopped" || this.current === "failed";
  }

  /** The first failure, if any. */
  get failure(): unknown {
    return this.firstFailure?.error;
  }

  /** Subscribing succeeded. A no-op when a stop or failure came first (that one decides how it ends). */
  started(): void {
    if (this.current === "starting") this.move("running");
    else if (this.current === "running") throw new LogbenchError("INTERNAL", "subscription started twice");
  }

  /** End the subscription with `error`. The first failure wins; once ended, later ones are ignored. */
  fail(error: unknown): void {
    if (this.firstFailure || this.ended) return;
    this.firstFailure = { error: error ?? new LogbenchError("INTERNAL", "subscription failed without a reason") };
    void this.stop();
  }

  /** Run the shutdown (once) and wait until it ended; never rejects (the outcome is in `done`). */
  stop(): Promise<void> {
    this.finishing ??= this.finish();
    return this.finishing;
  }

  private async finish(): Promise<void> {
    this.move("stopping");
    let shutdownError: { error: unknown } | null = null;
    try {
      await this.shutdown();
    } catch (error) {
      shutdownError = { error };
    }
    const end = this.firstFailure ?? shutdownError;
    this.move(end ? "failed" : "stopped");
    this.settle(end);
  }

  private move(to: LifecycleState): void {
    if (!NEXT[this.current].includes(to)) {
      throw new LogbenchError("INTERNAL", `subscription cannot go from ${this.current} to ${to}`);
    }
    this.current = to;
  }
}
