/** The subscriptions' shared lifecycle: its states, one shutdown, one outcome, the first failure winning. */
import { describe, expect, it } from "vitest";
import { LogbenchError } from "../../connectors/errors.ts";
import { SubscriptionLifecycle } from "../../connectors/subscription-lifecycle.ts";

/** A lifecycle whose shutdown waits until `release` is called, counting its runs. */
function controlled(shutdownError?: unknown) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const runs: string[] = [];
  const lc = new SubscriptionLifecycle(async () => {
    runs.push(lc.state);
    await gate;
    if (shutdownError !== undefined) throw shutdownError;
  });
  return { lc, runs, release };
}

const settled = (p: Promise<void>) =>
  p.then(
    () => "resolved",
    (err: unknown) => err,
  );

describe("SubscriptionLifecycle", () => {
  it("goes starting → running → stopping → stopped, runs the shutdown once, and resolves done", async () => {
    const { lc, runs, release } = controlled();
    expect([lc.state, lc.active, lc.ended]).toEqual(["starting", true, false]);
    lc.started();
    expect([lc.state, lc.active]).toEqual(["running", true]);
    const first = lc.stop();
    const second = lc.stop();
    expect([lc.state, lc.active, lc.ended]).toEqual(["stopping", false, false]);
    release();
    await Promise.all([first, second]);
    expect([lc.state, lc.active, lc.ended]).toEqual(["stopped", false, true]);
    expect(runs).toEqual(["stopping"]);
    expect(await settled(lc.done)).toBe("resolved");
    await lc.stop(); // still idempotent once ended
    expect(runs).toHaveLength(1);
  });

  it("fails with the first failure; later ones and the shutdown's own error do not replace it", async () => {
    const first = new LogbenchError("UNAVAILABLE", "first");
    const { lc, runs, release } = controlled(new Error("shutdown broke"));
    lc.started();
    lc.fail(first);
    expect(lc.active).toBe(false); // the loops stop taking work at once
    lc.fail(new Error("second"));
    expect(lc.failure).toBe(first);
    release();
    await lc.stop(); // never rejects
    expect(lc.state).toBe("failed");
    expect(await settled(lc.done)).toBe(first);
    expect(runs).toHaveLength(1);
    lc.fail(new Error("after the end"));
    expect(lc.failure).toBe(first);
  });

  it("records a failure that happens while stopping", async () => {
    const { lc, release } = controlled();
    lc.started();
    const stopping = lc.stop();
    const late = new Error("onBatch failed during the drain");
    lc.fail(late);
    release();
    await stopping;
    expect(lc.state).toBe("failed");
    expect(await settled(lc.done)).toBe(late);
  });

  it("fails with the shutdown's error when nothing else failed", async () => {
    const broke = new Error("onRevoked threw");
    const { lc, release } = controlled(broke);
    const stopped = lc.stop();
    release();
    await stopped;
    expect(lc.state).toBe("failed");
    expect(await settled(lc.done)).toBe(broke);
  });

  it("gives a failure without a reason one", async () => {
    const { lc, release } = controlled();
    lc.fail(undefined);
    release();
    await lc.stop();
    const err = await settled(lc.done);
    expect(err).toBeInstanceOf(LogbenchError);
    expect((err as LogbenchError).code).toBe("INTERNAL");
  });

  it("checks its transitions: started() after a stop changes nothing, started() twice is a bug", async () => {
    const stoppedEarly = controlled();
    const stopping = stoppedEarly.lc.stop();
    stoppedEarly.lc.started();
    expect(stoppedEarly.lc.state).toBe("stopping");
    stoppedEarly.release();
    await stopping;
    stoppedEarly.lc.started();
    expect(stoppedEarly.lc.state).toBe("stopped");
    const twice = controlled();
    twice.lc.started();
    expect(() => twice.lc.started()).toThrow(/started twice/);
  });
});
