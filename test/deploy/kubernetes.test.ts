/**
 * deploy/kubernetes/logbench.yaml, validated statically (no cluster here; `kubectl --dry-run=client` still needs
 * an API server): kinds and apiVersions, the fields the API server requires, the Deployment's selector against
 * its pod labels, the Secret's keys against the config's ${…}, the ConfigMap's config through parseConfig, and
 * the probe and Service paths against a real daemon API.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { silentLogger } from "../../connectors/context.ts";
import { packageRoot, parseConfig } from "../../pipeline/config/load.ts";
import { startDaemon } from "../../pipeline/daemon.ts";

const docs = parseAllDocuments(readFileSync(join(packageRoot, "deploy/kubernetes/logbench.yaml"), "utf8")).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS();
});
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const API_VERSIONS: Record<string, string> = { ConfigMap: "v1", Secret: "v1", Deployment: "apps/v1", Service: "v1" };
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe("Kubernetes manifests", () => {
  it("hold a ConfigMap, a Secret, a Deployment and a Service with the fields the API requires", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Deployment", "Secret", "Service"]);
    for (const d of docs) {
      expect(d.apiVersion, d.kind).toBe(API_VERSIONS[d.kind]);
      expect(d.metadata.name, d.kind).toMatch(NAME);
    }
    const [deployment] = byKind("Deployment");
    const spec = deployment.spec;
    expect(spec.replicas).toBeGreaterThanOrEqual(2);
    expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
    const [container] = spec.template.spec.containers;
    expect(container.name).toMatch(NAME);
    expect(container.image).toEqual(expect.any(String));
    const ports = new Map(
      container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
    );
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet.path).toBe("/healthz");
      expect(ports.has(probe.httpGet.port)).toBe(true);
    }
    // Every volume mounted is declared, and the config volume is the ConfigMap.
    const volumes = new Map(spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]));
    for (const m of container.volumeMounts) expect(volumes.has(m.name), m.name).toBe(true);
    const configMount = container.volumeMounts.find((m: { name: string }) => m.name === "config");
    expect(container.args).toEqual(["daemon", "--config", `${configMount.mountPath}/logbench.yaml`]);
    expect((volumes.get("config") as { configMap: { name: string } }).configMap.name).toBe(
      byKind("ConfigMap")[0].metadata.name,
    );
    expect(container.envFrom[0].secretRef.name).toBe(byKind("Secret")[0].metadata.name);

    const [service] = byKind("Service");
    expect(service.spec.selector).toEqual(spec.selector.matchLabels);
    const metricsPort = service.spec.ports.find((p: { name: string }) => p.name === "metrics");
    expect(ports.has(metricsPort.targetPort)).toBe(true);
    expect(service.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
  });

  it("has a ConfigMap config that passes logbench's validation with the Secret's keys as environment", () => {
    const [configMap] = byKind("ConfigMap");
    const [secret] = byKind("Secret");
    const text: string = configMap.data["logbench.yaml"];
    const wanted = new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]));
    expect([...wanted].sort()).toEqual(Object.keys(secret.stringData).sort());
    const config = parseConfig(parseAllDocuments(text)[0]!.toJS(), { env: secret.stringData, origin: "ConfigMap" });
    expect(config.bus.type).toBe("kafka");
    expect(config.sources).toEqual([]);
    expect(config.api.port).toBe(8787);
    const [deployment] = byKind("Deployment");
    expect(deployment.spec.template.spec.containers[0].ports[0].containerPort).toBe(config.api.port);
    const stateMount = deployment.spec.template.spec.containers[0].volumeMounts.find(
      (m: { name: string }) => m.name === "state",
    );
    expect(stateMount.mountPath).toBe(config.stateDir);
  });

  it("probes and scrapes paths a real daemon API answers (/healthz without the token, /metrics with it)", async () => {
    const [deployment] = byKind("Deployment");
    const [service] = byKind("Service");
    const probe = deployment.spec.template.spec.containers[0].livenessProbe.httpGet.path;
    const metrics = service.metadata.annotations["prometheus.io/path"];
    const dir = mkdtempSync(join(tmpdir(), "logbench-k8s-"));
    const token = "a-token-long-enough-for-the-api";
    const config = parseConfig({
      stateDir: join(dir, "state"),
      bus: { type: "local", dir: join(dir, "bus") },
      archive: { type: "local", dir: join(dir, "archive") },
      series: { type: "duckdb", file: join(dir, "series.duckdb") },
      api: { port: 0, token },
    });
    const controller = new AbortController();
    const daemon = await startDaemon(config, { logger: silentLogger, signal: controller.signal });
    try {
      expect((await fetch(`${daemon.apiUrl}${probe}`)).status).toBe(200);
      expect((await fetch(`${daemon.apiUrl}${metrics}`)).status).toBe(401);
      const scraped = await fetch(`${daemon.apiUrl}${metrics}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toMatch(/^logbench_consumer_lag\{group="archive"\} \d+$/m);
    } finally {
      controller.abort();
      await daemon.done;
    }
  });
});
