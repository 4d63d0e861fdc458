/**
 * Fills Observable Framework's npm cache from installed packages, so `observable build` and `observable preview`
 * fetch nothing from the network (DESIGN §8).
 *
 * Framework 1.13 (dist/npm.js) turns `npm:NAME` into `/_npm/NAME@VERSION/_esm.js`, picks VERSION from the folder
 * names under `<root>/.observablehq/cache/_npm/` before asking the registry, and downloads a missing file from
 * jsDelivr (`https://cdn.jsdelivr.net/npm/NAME@VERSION/+esm`), whose modules import each other as
 * `/npm/DEP@V/+esm` and are rewritten to relative paths. We write the same layout ourselves: each package is
 * bundled by esbuild into one ES module whose imports of the other cached packages are already relative.
 *
 * Run by `logbench start` (serve.ts), `npm run build` / `npm run notebooks` (scripts/notebooks-cache.ts) and tests.
 *   --clear-data  also drops cached data-loader outputs, so the next build re-reads every source.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, posix, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import frameworkConfig from "../../observablehq.config.ts";

/** A package served under `_npm/`: an ES module bundle and, optionally, files copied as they are. */
interface CachedPackage {
  name: string;
  /** Why the notebooks need it (shown when it is missing). */
  usedBy: string;
  /** Files under the package folder copied verbatim (wasm, workers). */
  files?: string[];
}

/**
 * Everything the pages pull in: `html`/`Inputs` need htl (and isoformat, which Framework preloads beside
 * Inputs), `FileAttachment(...).arrow()` and DuckDB need apache-arrow, `sql` cells need duckdb-wasm and the
 * workers/wasm it loads from `import.meta.resolve("npm:@duckdb/duckdb-wasm/dist/…")`.
 */
export const CACHED_PACKAGES: CachedPackage[] = [
  { name: "htl", usedBy: "html`…` and Inputs" },
  { name: "isoformat", usedBy: "Inputs" },
  { name: "apache-arrow", usedBy: "FileAttachment(…).arrow() and DuckDB results" },
  {
    name: "@duckdb/duckdb-wasm",
    usedBy: "sql cells and DuckDBClient",
    files: [
      "dist/duckdb-mvp.wasm",
      "dist/duckdb-browser-mvp.worker.js",
      "dist/duckdb-eh.wasm",
      "dist/duckdb-browser-eh.worker.js",
    ],
  },
];

/**
 * Bare imports (`import Plotly from "plotly.js-dist-min"`) that Framework 1.13 (dist/node.js) bundles from
 * node_modules into `_node/NAME@VERSION/index.js` with rollup on first use; for plotly's 4.6 MB that takes
 * about a minute, esbuild does the same CommonJS-to-ESM bundle in seconds. Framework reuses an existing file.
 */
export const NODE_BUNDLES = ["plotly.js-dist-min"];

/**
 * Libraries that Framework's own client bundles name in lazy `import("npm:…")` calls (recommendedLibraries,
 * FileAttachment methods). Building those bundles resolves each name to a version — from the cache folders,
 * else from the npm registry. The notebooks never load them, so an empty version folder is enough to keep the
 * build offline; a page that starts using one fails with Framework's "unable to fetch" naming the package.
 */
export const PINNED_UNUSED: Record<string, string> = {
  "@observablehq/plot": "0.6.16",
  "@observablehq/sample-datasets": "1.0.1",
  arquero: "7.2.0",
  d3: "7.9.0",
  "d3-dsv": "3.0.1",
  echarts: "5.6.0",
  leaflet: "1.9.4",
  lodash: "4.17.21",
  "mapbox-gl": "3.11.0",
  "parquet-wasm": "0.6.1",
  react: "19.1.0",
  "react-dom": "19.1.0",
  "topojson-client": "3.1.0",
};

export interface FillOptions {
  /** Repository root (holds node_modules and observablehq.config.ts). */
  repoRoot: string;
  /** Framework source root, relative to repoRoot or absolute (default: the config's `root`). */
  root?: string;
  clearData?: boolean;
  log?: (line: string) => void;
}

/** Fill `<root>/.observablehq/cache/_npm/`; throws an Error naming the missing package when one is not installed. */
export async function fillNotebooksCache(options: FillOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const cache = resolve(options.repoRoot, options.root ?? frameworkConfig.root, ".observablehq", "cache");
  const npmDir = join(cache, "_npm");
  const require = createRequire(join(options.repoRoot, "package.json"));
  const versions = new Map<string, { version: string; dir: string }>();
  for (const pkg of CACHED_PACKAGES) versions.set(pkg.name, await locatePackage(require, pkg));

  if (options.clearData) await clearLoaderOutputs(cache, log);
  for (const [name, version] of Object.entries(PINNED_UNUSED)) {
    if (!versions.has(name) && !(await hasVersion(npmDir, name)))
      await mkdir(join(npmDir, `${name}@${version}`), { recursive: true });
  }
  for (const pkg of CACHED_PACKAGES) {
    const { version, dir } = versions.get(pkg.name)!;
    const target = join(npmDir, `${pkg.name}@${version}`);
    await removeOtherVersions(npmDir, pkg.name, version);
    await bundlePackage(options.repoRoot, pkg.name, version, target, versions);
    for (const file of pkg.files ?? []) await copyIfChanged(join(dir, file), join(target, file));
    log(`npm:${pkg.name}@${version} → ${target}`);
  }
  for (const name of NODE_BUNDLES) {
    const { version } = await locatePackage(require, { name, usedBy: "the notebook charts" });
    const target = join(cache, "_node", `${name}@${version}`, "index.js");
    if (existsSync(target)) continue;
    await bundleNodeImport(options.repoRoot, name, target);
    log(`${name} → ${target}`);
  }
}

async function locatePackage(require: NodeJS.Require, pkg: CachedPackage): Promise<{ version: string; dir: string }> {
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg.name}/package.json`);
  } catch {
    manifest = await findManifest(require, pkg.name);
  }
  const { version } = JSON.parse(await readFile(manifest, "utf8")) as { version: string };
  return { version, dir: dirname(manifest) };
}

/** Packages whose `exports` hide package.json: walk up from the resolved entry. */
async function findManifest(require: NodeJS.Require, name: string): Promise<string> {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    const pkg = CACHED_PACKAGES.find((p) => p.name === name);
    throw new Error(
      `notebooks cache: npm package "${name}" is not installed (needed for ${pkg?.usedBy ?? "the notebooks"}); ` +
        `add it to package.json and run npm install`,
    );
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate) && JSON.parse(await readFile(candidate, "utf8")).name === name) return candidate;
  }
  throw new Error(`notebooks cache: no package.json found for "${name}" above ${entry}`);
}

/**
 * One ES module per package, like jsDelivr's `+esm`, except that imports of the other cached packages point at
 * their cached bundles (so a page, Framework's DuckDB client and duckdb-wasm share one apache-arrow), and every
 * other dependency is inlined.
 */
async function bundlePackage(
  repoRoot: string,
  name: string,
  version: string,
  target: string,
  versions: Map<string, { version: string }>,
): Promise<void> {
  const self = `${name}@${version}`;
  const siblings: Plugin = {
    name: "cached-siblings",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const dep = [...versions.keys()].find((n) => n !== name && (args.path === n || args.path.startsWith(`${n}/`)));
        if (!dep || args.path !== dep) return undefined;
        const path = posix.relative(posix.dirname(`/${self}/_esm.js`), `/${dep}@${versions.get(dep)!.version}/_esm.js`);
        return { path: path.startsWith(".") ? path : `./${path}`, external: true };
      });
    },
  };
  await mkdir(target, { recursive: true });
  await build({
    // A bare name as entry point resolves like an import from the repository root, and keeps a default export.
    ...browserBundle(repoRoot, name),
    mainFields: ["browser", "module", "main"],
    conditions: ["browser", "import"],
    plugins: [siblings],
    outfile: join(target, "_esm.js"),
    allowOverwrite: true,
  }).catch((error: unknown) => {
    throw new Error(`notebooks cache: bundling ${self}: ${error instanceof Error ? error.message : String(error)}`);
  });
}

/** esbuild options both bundlers share: one minified browser ES module for a package name. */
function browserBundle(repoRoot: string, name: string) {
  return {
    entryPoints: [name],
    absWorkingDir: repoRoot,
    bundle: true,
    format: "esm" as const,
    platform: "browser" as const,
    target: "es2022",
    define: { "process.env.NODE_ENV": '"production"' },
    minify: true,
    legalComments: "none" as const,
    logLevel: "error" as const,
  };
}

/** What Framework's own node-import bundler produces: one minified ES module with a default export. */
async function bundleNodeImport(repoRoot: string, name: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await build({
    ...browserBundle(repoRoot, name),
    outfile: `${target}.tmp`,
    allowOverwrite: true,
  }).catch((error: unknown) => {
    throw new Error(`notebooks cache: bundling ${name}: ${error instanceof Error ? error.message : String(error)}`);
  });
  // Renamed into place so an interrupted run never leaves a half-written file that Framework would trust.
  await rename(`${target}.tmp`, target);
}

async function copyIfChanged(from: string, to: string): Promise<void> {
  const source = await stat(from).catch(() => {
    throw new Error(`notebooks cache: ${from} is missing from the installed package`);
  });
  const existing = await stat(to).catch(() => null);
  if (existing && existing.size === source.size && existing.mtimeMs >= source.mtimeMs) return;
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}

/** Framework takes the highest cached version of a name, so a leftover newer folder would shadow ours. */
async function removeOtherVersions(npmDir: string, name: string, keep: string): Promise<void> {
  const scope = name.startsWith("@") ? name.split("/")[0]! : "";
  const base = scope ? name.slice(scope.length + 1) : name;
  const dir = join(npmDir, scope);
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry.startsWith(`${base}@`) && entry !== `${base}@${keep}`) await rm(join(dir, entry), { recursive: true });
  }
}

async function hasVersion(npmDir: string, name: string): Promise<boolean> {
  const scope = name.startsWith("@") ? name.split("/")[0]! : "";
  const base = scope ? name.slice(scope.length + 1) : name;
  const entries = await readdir(join(npmDir, scope)).catch(() => [] as string[]);
  return entries.some((e) => e.startsWith(`${base}@`));
}

/** Loader outputs live beside the npm cache; Framework reuses them until the loader file changes. */
async function clearLoaderOutputs(cache: string, log: (line: string) => void): Promise<void> {
  for (const entry of await readdir(cache).catch(() => [] as string[])) {
    if (entry.startsWith("_")) continue; // _npm, _node, _duckdb, _observablehq, _file…: not data
    await rm(join(cache, entry), { recursive: true, force: true });
    log(`cleared cached loader output ${join(cache, entry)}`);
  }
}
