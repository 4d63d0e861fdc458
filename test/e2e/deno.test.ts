/**
 * The daemon under Deno with explicit permissions (no -A): the embedded config fills the archive and the
 * series, and SIGTERM drains and exits 0.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../pipeline/config/load.ts";
import { runToCompletion } from "./check.ts";
import { expectedFromFiles } from "./expected.ts";
import { SAMPLES, writeConfig } from "./harness.ts";

describe("daemon under Deno", () => {
  it("the deno task runs the CLI entry with explicit permissions, not -A", () => {
    const task = JSON.parse(readFileSync(join(packageRoot, "deno.json"), "utf8")).tasks.daemon.command as string;
    expect(task).toContain("pipeline/cli/deno-entry.ts daemon");
    expect(task).not.toMatch(/\s-A\b|--allow-all/);
    // The flags are derived from the config by `deno-flags`, itself run with reads of the checkout only.
    expect(task).toContain(
      "$(./node_modules/deno/deno run --allow-read=. --allow-env --allow-sys pipeline/cli/deno-entry.ts deno-flags --config config/local.yaml)",
    );
  });

  it("archives and aggregates the samples, and drains on SIGTERM", async () => {
    const files = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
    const dir = mkdtempSync(join(tmpdir(), "logbench-deno-"));
    const daemon = await runToCompletion(dir, writeConfig(dir, {}), files, expectedFromFiles(files), {
      runner: "deno",
    });
    expect(daemon.stderr()).toContain("Stopped cleanly.");
  });
});
