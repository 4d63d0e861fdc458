/**
 * Observable Framework config of the logbench notebooks (https://observablehq.com/framework/config).
 * It stays at the repository root: `observable --root notebooks` would look for it inside notebooks/ and
 * silently drop it (DESIGN §8). Build and preview only after `scripts/notebooks-cache.ts` has filled the npm
 * cache, so nothing is fetched from a CDN.
 */
export default {
  root: "notebooks",
  // Tests build into test/artifacts/ so they never clobber a publisher's dist/.
  output: process.env.LOGBENCH_NOTEBOOKS_OUTPUT ?? "dist",
  title: "logbench",
  pages: [
    { name: "What is flowing now", path: "/" },
    { name: "Live windows", path: "/live" },
    { name: "Series", path: "/series" },
    { name: "Archive", path: "/archive" },
    { name: "Reports", pages: [{ name: "Daily traffic", path: "/reports/daily" }] },
  ],
  // The default theme links Google Fonts, and a browser asks for /favicon.ico: a published report must render
  // without the network and without a failed request.
  globalStylesheets: [],
  head: '<link rel="icon" href="data:,">',
  // No DuckDB extension is installed in the browser: they would be downloaded from extensions.duckdb.org, and
  // the loaders give DuckDB-wasm Arrow, which it reads without any.
  duckdb: { extensions: { json: null, parquet: null } },
  search: false,
  footer: "logbench notebooks — built from the connectors the daemon uses.",
};
