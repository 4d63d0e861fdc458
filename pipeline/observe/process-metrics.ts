/**
 * What an operator watches of the daemon's process itself, set into the registry at each /metrics scrape: resident
 * memory (the RSS the daemon is sized by), the V8 heap, memory outside it, CPU seconds, time spent collecting
 * garbage, and the event loop's delay (a main thread that cannot keep up shows here first). The names follow the
 * ones Prometheus' Node client uses by default, so existing dashboards and alerts read them.
 *
 * Garbage collection and loop delay need observers from the start; a runtime without them (Deno's Node layer lacks
 * some) leaves those series out rather than failing the daemon.
 */
import { constants, monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import type { MetricsRegistry } from "../../connectors/context.ts";

/** perf_hooks' GC kinds by their value (Deno's node:perf_hooks has no `constants`: no kinds, and no GC entries). */
const GC_CONSTANTS = (constants ?? {}) as Partial<typeof constants>;
const GC_KINDS = new Map<number | undefined, string>([
  [GC_CONSTANTS.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [GC_CONSTANTS.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [GC_CONSTANTS.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [GC_CONSTANTS.NODE_PERFORMANCE_GC_WEAKCB, "weakcb"],
]);

export interface ProcessMetrics {
  /** Set the gauges and counters to their values now. */
  sample(): void;
  stop(): void;
}

export function startProcessMetrics(metrics: MetricsRegistry): ProcessMetrics {
  metrics.describe("process_resident_memory_bytes", "gauge", "Resident set size (RSS) of the daemon's process");
  metrics.describe("process_cpu_seconds_total", "counter", "User and system CPU time of the process, in seconds");
  metrics.describe("nodejs_heap_size_total_bytes", "gauge", "V8 heap reserved, in bytes");
  metrics.describe("nodejs_heap_size_used_bytes", "gauge", "V8 heap in use, in bytes");
  metrics.describe(
    "nodejs_external_memory_bytes",
    "gauge",
    "Memory of JavaScript objects held outside the V8 heap (buffers), in bytes; DuckDB's own memory is in neither",
  );
  const gcSeconds = new Map<string, number>();
  let gc: PerformanceObserver | null = null;
  try {
    gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
        const kind = (detail?.kind !== undefined && GC_KINDS.get(detail.kind)) || "other";
        gcSeconds.set(kind, (gcSeconds.get(kind) ?? 0) + entry.duration / 1000);
      }
    });
    gc.observe({ entryTypes: ["gc"] });
    metrics.describe(
      "nodejs_gc_duration_seconds_total",
      "counter",
      "Time the main thread spent in garbage collection, by kind (minor, major, incremental, weakcb), in seconds",
    );
  } catch {
    gc = null;
  }
  let delay: ReturnType<typeof monitorEventLoopDelay> | null = null;
  try {
    delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    metrics.describe(
      "nodejs_eventloop_lag_p99_seconds",
      "gauge",
      "99th percentile of the event loop's delay since the last scrape (20 ms resolution), in seconds",
    );
    metrics.describe(
      "nodejs_eventloop_lag_max_seconds",
      "gauge",
      "Longest event loop delay since the last scrape, in seconds",
    );
  } catch {
    delay = null;
  }
  return {
    sample() {
      const memory = process.memoryUsage();
      metrics.set("process_resident_memory_bytes", {}, memory.rss);
      metrics.set("nodejs_heap_size_total_bytes", {}, memory.heapTotal);
      metrics.set("nodejs_heap_size_used_bytes", {}, memory.heapUsed);
      metrics.set("nodejs_external_memory_bytes", {}, memory.external);
      const cpu = process.cpuUsage();
      metrics.set("process_cpu_seconds_total", {}, (cpu.user + cpu.system) / 1e6);
      for (const [kind, seconds] of gcSeconds) metrics.set("nodejs_gc_duration_seconds_total", { kind }, seconds);
      if (delay && delay.count > 0) {
        // Nanoseconds; a histogram reset per scrape, so each value covers the time since the one before.
        metrics.set("nodejs_eventloop_lag_p99_seconds", {}, delay.percentile(99) / 1e9);
        metrics.set("nodejs_eventloop_lag_max_seconds", {}, delay.max / 1e9);
        delay.reset();
      }
    },
    stop() {
      gc?.disconnect();
      delay?.disable();
    },
  };
}
