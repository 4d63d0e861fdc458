/** Prometheus text exposition format 0.0.4 of a MetricsRegistry. */
import type { MetricsRegistry } from "../../connectors/context.ts";

export function renderPrometheus(registry: MetricsRegistry): string {
  const out: string[] = [];
  for (const [name, series] of [...registry.values].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const meta = registry.meta.get(name);
    if (meta) {
      out.push(`# HELP ${name} ${meta.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${name} ${meta.type}`);
    }
    for (const { labels, value } of series.values()) {
      const keys = Object.keys(labels).sort();
      const text = keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",");
      out.push(`${name}${text ? `{${text}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    }
  }
  return `${out.join("\n")}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
