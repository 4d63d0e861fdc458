/**
 * deploy/compose.yaml and the Dockerfile, checked without a container engine: Debian's docker-compose 1.29
 * validates the file offline (`config -q`), and the test reads it for what the recipe promises: Kafka,
 * InfluxDB 2, Grafana provisioned from deploy/grafana, and two daemons in one consumer group whose config
 * passes logbench's own validation.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { packageRoot, parseConfig } from "../../pipeline/config/load.ts";

const DEPLOY = join(packageRoot, "deploy");
type Volume = string | { source: string; target: string };
/** target → source of a service's volumes (docker-compose 1.29 prints the short "src:target[:ro]" form). */
function mountsOf(service: Record<string, unknown>): Map<string, string> {
  return new Map(
    (service.volumes as Volume[]).map((v) => {
      if (typeof v !== "string") return [v.target, v.source];
      const [source, target] = v.split(":");
      return [target!, source!];
    }),
  );
}

const env = { ...process.env, LOGBENCH_API_TOKEN: "a-token-of-24-characters", INFLUX_TOKEN: "influx-token" };

describe("docker compose recipe", () => {
  it("is valid for docker-compose (offline), and invalid without the tokens it requires", () => {
    expect(execFileSync("which", ["docker-compose"], { encoding: "utf8" }).trim()).not.toBe("");
    const ok = spawnSync("docker-compose", ["-f", join(DEPLOY, "compose.yaml"), "config", "-q"], {
      env,
      encoding: "utf8",
    });
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    const { INFLUX_TOKEN: _, ...withoutToken } = env;
    const missing = spawnSync("docker-compose", ["-f", join(DEPLOY, "compose.yaml"), "config", "-q"], {
      env: withoutToken,
      encoding: "utf8",
    });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("set INFLUX_TOKEN");
  });

  it("runs Kafka, InfluxDB 2, Grafana provisioned from deploy/grafana, and two daemons in one group", () => {
    const text = execFileSync("docker-compose", ["-f", join(DEPLOY, "compose.yaml"), "config"], {
      env,
      encoding: "utf8",
    });
    const compose = parse(text);
    const services = compose.services as Record<string, Record<string, unknown> & { image?: string }>;
    expect(services.kafka!.image).toMatch(/kafka/);
    expect(services.influxdb!.image).toMatch(/^influxdb:2\./);
    const grafana = services.grafana!;
    expect(grafana.image).toMatch(/^grafana\/grafana:/);
    const mounts = mountsOf(grafana);
    expect(mounts.get("/etc/grafana/provisioning")).toBe(join(DEPLOY, "grafana/provisioning"));
    // The dashboard provider reads the folder the dashboards are mounted at.
    const provider = parse(readFileSync(join(DEPLOY, "grafana/provisioning/dashboards/logbench.yaml"), "utf8"));
    expect(mounts.get(provider.providers[0].options.path)).toBe(join(DEPLOY, "grafana/dashboards"));

    const daemons = Object.entries(services).filter(([, s]) => (s.build as { dockerfile?: string })?.dockerfile);
    expect(daemons.map(([name]) => name).sort()).toEqual(["logbench-1", "logbench-2"]);
    const configs = daemons.map(([, s]) => mountsOf(s).get("/etc/logbench/logbench.yaml")!);
    expect(new Set(configs).size).toBe(1);
    const config = parseConfig(parse(readFileSync(configs[0]!, "utf8")), { env, origin: configs[0]! });
    expect(config.bus).toMatchObject({ type: "kafka", brokers: ["kafka:9092"] });
    expect(config.series).toMatchObject({ type: "influxdb-v2", url: "http://influxdb:8086" });
    expect(config.archiver.group).toBe("archive");
    expect(config.aggregator.group).toBe("aggregate");
    // Each daemon has its own state volume (positions, alert state), the archive volume is shared.
    const states = daemons.map(([, s]) => mountsOf(s).get("/var/lib/logbench"));
    expect(new Set(states).size).toBe(2);
    expect(new Set(daemons.map(([, s]) => mountsOf(s).get("/var/lib/logbench-archive"))).size).toBe(1);
  });

  it("has a Dockerfile whose COPY sources exist and whose command is the daemon", () => {
    const dockerfile = readFileSync(join(DEPLOY, "docker/Dockerfile"), "utf8");
    const copies = [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(" "));
    expect(copies.length).toBeGreaterThan(3);
    for (const src of copies) expect(existsSync(resolve(packageRoot, src)), src).toBe(true);
    expect(dockerfile).toMatch(/^FROM node:20\.\d+/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/logbench.js"]');
    expect(dockerfile).toContain('CMD ["daemon", "--config", "/etc/logbench/logbench.yaml"]');
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
