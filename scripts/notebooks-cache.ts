/**
 * `tsx scripts/notebooks-cache.ts [--clear-data]`: fills Framework's npm cache from node_modules before
 * `npm run build` / `npm run notebooks` (the work is in pipeline/notebooks/cache.ts, which the daemon uses too).
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fillNotebooksCache } from "../pipeline/notebooks/cache.ts";

const argv = process.argv.slice(2);
const unknown = argv.filter((a) => a !== "--clear-data");
if (unknown.length > 0) {
  process.stderr.write(`notebooks-cache: unknown argument ${unknown[0]}; usage: notebooks-cache [--clear-data]\n`);
  process.exitCode = 2;
} else {
  try {
    await fillNotebooksCache({
      repoRoot: resolve(dirname(fileURLToPath(import.meta.url)), ".."),
      clearData: argv.includes("--clear-data"),
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
