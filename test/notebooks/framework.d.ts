/** The two functions of Observable Framework 1.13's npm resolver the cache test calls (dist/npm.js has no types). */
declare module "@observablehq/framework/dist/npm.js" {
  /** "htl" → "/_npm/htl@0.3.1/_esm.js", choosing the version from the cache folders before the registry. */
  export function resolveNpmImport(root: string, specifier: string): Promise<string>;
  /** The cached file's path for "/_npm/…", downloading it from jsDelivr when it is not cached. */
  export function populateNpmCache(root: string, path: string): Promise<string>;
}
