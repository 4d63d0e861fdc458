/**
 * pipeline/notebooks/cache.ts must leave Framework nothing to download: every `npm:` import the pages and
 * Framework's own client make resolves, through Framework 1.13's real resolver, to a file already in the cache,
 * with fetch refused.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { populateNpmCache, resolveNpmImport } from "@observablehq/framework/dist/npm.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../pipeline/config/load.ts";
import { CACHED_PACKAGES, fillNotebooksCache, PINNED_UNUSED } from "../../pipeline/notebooks/cache.ts";

const refused: string[] = [];
const realFetch = globalThis.fetch;
let root: string;

beforeAll(async () => {
  globalThis.fetch = (async (input: string | URL | Request) => {
    refused.push(String(input instanceof Request ? input.url : input));
    throw new TypeError("network refused by the test");
  }) as typeof fetch;
  root = await mkdtemp(join(tmpdir(), "logbench-npm-cache-"));
  await fillNotebooksCache({ repoRoot: packageRoot, root });
}, 120_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  await rm(root, { recursive: true, force: true });
});

const installed = (name: string) =>
  JSON.parse(readFileSync(join(packageRoot, "node_modules", name, "package.json"), "utf8")).version as string;

describe("notebooks npm cache", () => {
  it("lets Framework resolve every import the pages make to a cached file, at the installed version, offline", async () => {
    for (const specifier of [
      "htl",
      "isoformat",
      "apache-arrow",
      "@duckdb/duckdb-wasm",
      "@duckdb/duckdb-wasm/dist/duckdb-eh.wasm",
      "@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js",
      "@duckdb/duckdb-wasm/dist/duckdb-mvp.wasm",
      "@duckdb/duckdb-wasm/dist/duckdb-browser-mvp.worker.js",
    ]) {
      const path = await resolveNpmImport(root, specifier);
      const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
      expect(path, specifier).toContain(`/_npm/${name}@${installed(name)}/`);
      const file = await populateNpmCache(root, path);
      expect(existsSync(file), `${specifier} → ${file}`).toBe(true);
    }
    expect(refused).toEqual([]);
  });

  it("bundles duckdb-wasm against the same cached apache-arrow the pages get", async () => {
    const duckdb = readFileSync(
      join(root, ".observablehq/cache/_npm/@duckdb", `duckdb-wasm@${installed("@duckdb/duckdb-wasm")}`, "_esm.js"),
      "utf8",
    );
    const imports = [...duckdb.matchAll(/from\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const i of imports) expect(i).toBe(`../../apache-arrow@${installed("apache-arrow")}/_esm.js`);
  });

  it("pins a version for every library Framework's client names lazily, so resolving them asks no registry", async () => {
    for (const name of Object.keys(PINNED_UNUSED)) {
      expect(await resolveNpmImport(root, name), name).toMatch(new RegExp(`^/_npm/${name}@\\d`));
    }
    expect(refused).toEqual([]);
  });

  it("pre-bundles plotly where Framework looks for bare node_modules imports", async () => {
    const dir = join(root, ".observablehq/cache/_node");
    expect(await readdir(dir)).toContain(`plotly.js-dist-min@${installed("plotly.js-dist-min")}`);
    const bundle = readFileSync(join(dir, `plotly.js-dist-min@${installed("plotly.js-dist-min")}`, "index.js"), "utf8");
    expect(bundle).toMatch(/export\s*default/);
  });

  it("names the missing package when node_modules lacks one", async () => {
    const empty = await mkdtemp(join(tmpdir(), "logbench-no-modules-"));
    try {
      await expect(fillNotebooksCache({ repoRoot: empty, root: join(empty, "site") })).rejects.toThrow(
        new RegExp(`"${CACHED_PACKAGES[0]!.name}" is not installed`),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
