/**
 * A start that fails part-way (the API port is taken) stops what already started: the stages leave their groups
 * and the bus, archive and series are closed, so the same config starts cleanly right after.
 */
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../connectors/context.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { startDaemon } from "../../../pipeline/daemon.ts";

describe("daemon: failed start", () => {
  it("stops the stages and closes the connectors when the API port is taken", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-failed-start-"));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    const port = (taken.address() as AddressInfo).port;
    const make = (p: number) =>
      parseConfig(
        { bus: { type: "local", dir: "bus", partitions: 1, fsync: false }, sources: [], api: { port: p } },
        { baseDir: dir },
      );
    try {
      const refused = await startDaemon(make(port), {
        logger: silentLogger,
        signal: new AbortController().signal,
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toMatch(/EADDRINUSE|in use/i);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
    // The bus's lock and the DuckDB file were released: the same folders start again.
    const stop = new AbortController();
    const daemon = await startDaemon(make(0), { logger: silentLogger, signal: stop.signal });
    expect((await fetch(`${daemon.apiUrl}/healthz`)).status).toBe(200);
    stop.abort();
    await daemon.done;
  });
});
