/** A drain that takes long says what it still waits for, and only that. */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../../connectors/context.ts";
import { DrainReport } from "../../../pipeline/observe/drain-report.ts";

function recordingLogger() {
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(message, fields) {
      warnings.push({ message, fields });
    },
    error() {},
    child() {
      return logger;
    },
  };
  return { logger, warnings };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("DrainReport", () => {
  it("names the parts still open every period, drops the settled ones, and stops with the drain", async () => {
    vi.useFakeTimers();
    const { logger, warnings } = recordingLogger();
    const report = new DrainReport(logger, 10_000);
    let releaseApi = () => {};
    let releaseBus = () => {};
    const api = new Promise<void>((r) => (releaseApi = r));
    const bus = new Promise<void>((r) => (releaseBus = r));
    const done = report.report(async () => {
      await Promise.all([report.step("API", api), report.step("bus", bus), report.step("nothing", undefined)]);
      return "drained";
    });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(warnings).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(warnings).toEqual([{ message: "Still draining.", fields: { seconds: 10, waitingFor: ["API", "bus"] } }]);
    releaseApi();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(warnings.at(-1)).toEqual({ message: "Still draining.", fields: { seconds: 20, waitingFor: ["bus"] } });
    releaseBus();
    expect(await done).toBe("drained");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(warnings).toHaveLength(2);
  });

  it("passes a step's result and its failure through unchanged", async () => {
    const report = new DrainReport(recordingLogger().logger, 10_000);
    expect(await report.step("stage", Promise.resolve(7))).toBe(7);
    const failure = new Error("the stage failed");
    await expect(report.step("stage", Promise.reject(failure))).rejects.toBe(failure);
    await expect(report.report(() => Promise.reject(failure))).rejects.toBe(failure);
  });
});
