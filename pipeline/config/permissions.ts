/**
 * What a daemon on this config needs from the machine, as Deno permission flags: network to the configured
 * brokers, NameNode (and DataNodes), InfluxDB, alert webhooks and the API's listen address; reads of the code,
 * the config, the spool and tail paths and the secret files; writes of the state folder and the local bus,
 * archive and series files. Built from each component's `needs()` (connectors/component.ts), so a new
 * component brings its permissions with it.
 */
import { realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { hostOf } from "../../connectors/component.ts";
import { LogbenchError } from "../../connectors/errors.ts";
import { archives, buses, seriesStores } from "../../connectors/registry.ts";
import { sources } from "../ingest/registry.ts";
import { packageRoot } from "./load.ts";
import type { Config } from "./schema.ts";

export interface Permissions {
  net: string[];
  read: string[];
  write: string[];
  /** Native add-ons (DuckDB's node-api binding) are loaded through Deno's FFI permission. */
  ffi: string[];
}

export function permissionsOf(config: Config, configFile: string): Permissions {
  const needs = [
    buses.needs(config.bus),
    archives.needs(config.archive),
    seriesStores.needs(config.series),
    ...config.sources.map((s) => sources.needs(s)),
  ];
  const modules = join(packageRoot, "node_modules");
  const code = unique([packageRoot, realpathOr(modules)]);
  const net = needs.flatMap((n) => n.net);
  for (const hook of config.alerts.webhooks) net.push(hostOf(hook.url));
  // Listening needs net permission for the listen address too; port 0 (any free port) allows the host.
  if (config.api.enabled) net.push(config.api.port ? `${config.api.host}:${config.api.port}` : config.api.host);
  const secrets = [config.api.tokenFile, ...config.alerts.webhooks.map((h) => h.tokenFile)].filter(
    (f): f is string => f !== undefined,
  );
  const write = [config.stateDir, ...needs.flatMap((n) => n.write)];
  const read = [...code, resolve(configFile), ...secrets, ...write, ...needs.flatMap((n) => n.read)];
  return {
    net: unique(net),
    read: unique(read),
    write: unique(write),
    ffi: unique([join(modules, "@duckdb"), join(realpathOr(modules), "@duckdb")]),
  };
}

/** The flags for `deno run`: explicit lists, never -A. Env and sys info are granted whole (see docs/deploy.md). */
export function denoFlags(p: Permissions): string[] {
  const list = (name: string, values: string[]) => {
    for (const v of values)
      if (v.includes(","))
        throw new LogbenchError("CONFIG", `${name}: "${v}" holds a comma, which Deno's permission lists cannot carry`);
    return `--allow-${name}=${values.join(",")}`;
  };
  return [
    list("net", p.net),
    list("read", p.read),
    list("write", p.write),
    list("ffi", p.ffi),
    "--allow-env",
    "--allow-sys",
  ];
}

/** Without repeats, and without paths that a listed folder already covers (net entries have no "/"). */
function unique(values: string[]): string[] {
  const set = [...new Set(values)];
  return set.filter((v) => !set.some((other) => other !== v && v.startsWith(`${other}/`)));
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
