/**
 * The layering of DESIGN §2, read from the code's own import statements: connectors/ uses neither pipeline/ nor
 * notebooks/; the notebooks reach logbench only through its public API (`from "logbench"`), packages and their
 * own files; runtime code imports nothing from scripts/, test/ or bench/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const SOURCE = /\.(ts|js|mjs|md)$/;
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    if (name.startsWith(".") || name === "node_modules") continue;
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...filesUnder(path));
    else if (SOURCE.test(name)) out.push(path);
  }
  return out;
}

/** Every module specifier of a file, with the top-level folder a relative one lands in. */
function importsOf(file: string): Array<{ spec: string; lands: string | null }> {
  const text = readFileSync(join(root, file), "utf8");
  const out: Array<{ spec: string; lands: string | null }> = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const lands = spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)).split(sep)[0]! : null;
    out.push({ spec, lands });
  }
  return out;
}

function violations(dirs: string[], allowed: (i: { spec: string; lands: string | null }) => boolean): string[] {
  return dirs
    .flatMap((d) => filesUnder(d))
    .flatMap((f) =>
      importsOf(f)
        .filter((i) => !allowed(i))
        .map((i) => `${f}: ${i.spec}`),
    );
}

describe("layering", () => {
  it("reads imports the way they are written (the checker itself can fail)", () => {
    expect(importsOf("notebooks/data/stream.arrow.ts").map((i) => i.spec)).toContain("logbench");
    expect(importsOf("pipeline/daemon.ts").some((i) => i.lands === "connectors")).toBe(true);
  });

  it("notebooks import only the public API, packages and their own files", () => {
    const inside = (i: { spec: string; lands: string | null }) =>
      i.lands === null ? !i.spec.startsWith("/") && !/^(pipeline|connectors)\b/.test(i.spec) : i.lands === "notebooks";
    expect(violations(["notebooks"], inside)).toEqual([]);
  });

  it("connectors use neither pipeline/ nor notebooks/", () => {
    expect(violations(["connectors"], (i) => i.lands === null || i.lands === "connectors")).toEqual([]);
  });

  it("runtime code imports nothing from scripts/, test/ or bench/", () => {
    const runtime = (i: { lands: string | null }) => !["scripts", "test", "bench"].includes(i.lands ?? "");
    expect(violations(["connectors", "pipeline", "bin"], runtime)).toEqual([]);
  });

  it("the public API is what package.json exports", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(pkg.exports["."].default).toBe("./pipeline/index.ts");
    expect(statSync(join(root, pkg.exports["."].default)).isFile()).toBe(true);
  });
});
