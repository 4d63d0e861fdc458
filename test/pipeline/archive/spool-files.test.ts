/** The archive's open spool files: every append lands, in order, and no more than the limit stay open. */
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SpoolFiles } from "../../../pipeline/archive/spool-files.ts";

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Descriptors of this process into `dir`, from the kernel's table. */
async function openIn(folder: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir("/proc/self/fd"))
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => "")).startsWith(folder)) n++;
  return n;
}

describe("SpoolFiles", () => {
  it("appends every line to its file in order, with at most `limit` files open", async () => {
    dir = await mkdtemp(join(tmpdir(), "logbench-spool-"));
    const spools = new SpoolFiles(2);
    const files = ["a", "b", "c", "d"].map((n) => join(dir, `${n}.ndjson`));
    const expected = new Map(files.map((f) => [f, ""]));
    // Round-robin over four files with room for two: every append but the first two closes one.
    for (let i = 0; i < 40; i++) {
      const f = files[(i * 7) % 4]!;
      const line = `{"i":${i}}\n`;
      await spools.append(f, new TextEncoder().encode(line));
      expected.set(f, expected.get(f)! + line);
      expect(spools.size).toBeLessThanOrEqual(2);
      expect(await openIn(dir)).toBeLessThanOrEqual(2);
    }
    await spools.close(files.slice(0, 2));
    await spools.closeAll();
    expect(await openIn(dir)).toBe(0);
    for (const f of files) expect(await readFile(f, "utf8")).toBe(expected.get(f));
  });
});
