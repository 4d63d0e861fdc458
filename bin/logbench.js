#!/usr/bin/env node
// The `logbench` command. It runs the compiled JavaScript in lib/ (built by `npm ci` through the `prepare` script)
// when that build is newer than every source file, and otherwise the TypeScript sources through tsx, so a source
// edited since the build is never run stale and there is no build step to forget.
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  try {
    const built = statSync(`${root}lib/.built`).mtimeMs;
    const sources = Math.max(
      newestSource(`${root}pipeline`),
      newestSource(`${root}connectors`),
      statSync(`${root}observablehq.config.ts`).mtimeMs,
    );
    return built >= sources;
  } catch {
    return false;
  }
}

let main;
if (compiledIsFresh()) {
  ({ main } = await import("../lib/pipeline/cli/main.js"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../pipeline/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
