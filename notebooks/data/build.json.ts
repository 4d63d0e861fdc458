/**
 * build.json — what every page stamps: when and from which config it was built, where the daemon's API is
 * (for the live parts), and which bus, archive and series store the data came from. No secret ever goes in:
 * only URLs, folders and names the config's schema keeps free of credentials.
 */
import { describeConnectors } from "logbench";
import { runLoader, toJson } from "./_lib/loader.ts";

await runLoader("data/build.json", async ({ config, configLabel, env, now }) => {
  const api = config.api;
  const connectors = describeConnectors(config);
  // A daemon listening on every address is still reached on loopback from this machine's browser.
  const host =
    api.host === "0.0.0.0" || api.host === "::" ? "127.0.0.1" : api.host.includes(":") ? `[${api.host}]` : api.host;
  const apiUrl = env.LOGBENCH_API_URL ?? (api.enabled && api.port !== 0 ? `http://${host}:${api.port}` : null);
  return toJson({
    builtAt: now,
    config: configLabel,
    apiUrl: apiUrl?.replace(/\/+$/, "") ?? null,
    topic: config.topic,
    windowMs: config.aggregator.window,
    streamMinutes: Number(env.LOGBENCH_STREAM_MINUTES ?? 15),
    bus: connectors.bus.label,
    archive: connectors.archive.label,
    series: connectors.series.label,
  });
});
