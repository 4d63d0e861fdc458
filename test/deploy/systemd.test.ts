/**
 * deploy/systemd/logbench.service: `systemd-analyze verify` (with the checkout standing in for /opt/logbench,
 * so the executables it names exist) must pass without a single warning, `systemd-analyze security --offline`
 * must rate it OK, and the hardening the issue asks for must be there.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../pipeline/config/load.ts";

const UNIT = readFileSync(join(packageRoot, "deploy/systemd/logbench.service"), "utf8");

/** The unit with /opt/logbench replaced by this checkout, in a folder of its own. */
function localUnit(text = UNIT): string {
  const dir = mkdtempSync(join(tmpdir(), "logbench-unit-"));
  const file = join(dir, "logbench.service");
  writeFileSync(file, text.replaceAll("/opt/logbench", packageRoot));
  return file;
}

function verify(file: string) {
  return spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8" });
}

const directives = new Map<string, string[]>();
for (const line of UNIT.split("\n")) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line);
  if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
}

describe("systemd unit", () => {
  it("passes systemd-analyze verify with no warning (and the check can fail)", () => {
    expect(execFileSync("which", ["systemd-analyze"], { encoding: "utf8" }).trim()).not.toBe("");
    const r = verify(localUnit());
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // A misspelt directive is only a warning for systemd: the check above must see it.
    const bad = verify(localUnit(UNIT.replace("ProtectSystem=strict", "ProtectSystm=strict")));
    expect(bad.stderr).toContain("Unknown key 'ProtectSystm'");
  });

  it("is hardened: dynamic user, strict read-only system, the state folder writable, exposure rated OK", () => {
    expect(directives.get("DynamicUser")).toEqual(["yes"]);
    expect(directives.get("ProtectSystem")).toEqual(["strict"]);
    expect(directives.get("StateDirectory")).toEqual(["logbench"]);
    expect(directives.get("ReadWritePaths")).toContain("/var/lib/logbench");
    expect(directives.get("NoNewPrivileges")).toEqual(["yes"]);
    expect(directives.get("CapabilityBoundingSet")).toEqual([""]);
    const r = spawnSync("systemd-analyze", ["security", "--offline=yes", "--no-pager", localUnit()], {
      encoding: "utf8",
    });
    const level = /Overall exposure level for .*: (\d+\.\d+) (\w+)/.exec(r.stdout);
    expect(level, r.stdout + r.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThan(3);
    expect(level![2]).toBe("OK");
  });

  it("runs the daemon under Deno with the flags deno-flags derives from its config", () => {
    const start = directives.get("ExecStart")![0]!;
    expect(start).toMatch(
      /\$\(\S+deno run --allow-read=\S+ --allow-env --allow-sys \S+deno-entry\.ts deno-flags --config "\$LOGBENCH_CONFIG"\)/,
    );
    expect(start).toContain('deno-entry.ts daemon --config "$LOGBENCH_CONFIG"');
    expect(start).not.toMatch(/\s-A\s|--allow-all/);
  });
});
