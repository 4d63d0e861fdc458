/**
 * Effects handed to every component: a logger, a metrics registry and an abort signal.
 * Nothing in connectors/ or pipeline/ reaches for a module-level singleton; tests pass `silentContext()`.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something degraded but no data was lost. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Data loss, or an operator must act. */
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type Labels = Record<string, string>;

/** Counters and gauges with low-cardinality labels, rendered as Prometheus text by pipeline/observe. */
export interface Metrics {
  /** Add `value` (default 1) to a counter. */
  inc(name: string, labels?: Labels, value?: number): void;
  /** Set a gauge. */
  set(name: string, labels: Labels, value: number): void;
  /** Declare help text once; optional. */
  describe(name: string, type: "counter" | "gauge", help: string): void;
  /** Current value of a counter or gauge (0 when never touched). */
  get(name: string, labels?: Labels): number;
}

export interface Context {
  logger: Logger;
  metrics: Metrics;
  signal: AbortSignal;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON-lines logger to a writable (stderr by default). Messages are capitalised sentences. */
export function createLogger(
  options: { level?: LogLevel; write?: (line: string) => void; fields?: Record<string, unknown> } = {},
): Logger {
  const min = LEVELS[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const record = { time: new Date().toISOString(), level, message, ...base, ...fields };
    write(`${JSON.stringify(record, errorReplacer)}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** In-memory metrics; `pipeline/observe/prometheus.ts` renders them. */
export class MetricsRegistry implements Metrics {
  readonly values = new Map<string, Map<string, { labels: Labels; value: number }>>();
  readonly meta = new Map<string, { type: "counter" | "gauge"; help: string }>();

  describe(name: string, type: "counter" | "gauge", help: string): void {
    this.meta.set(name, { type, help });
  }

  inc(name: string, labels: Labels = {}, value = 1): void {
    const slot = this.slot(name, labels);
    slot.value += value;
  }

  set(name: string, labels: Labels, value: number): void {
    this.slot(name, labels).value = value;
  }

  get(name: string, labels: Labels = {}): number {
    return this.values.get(name)?.get(labelKey(labels))?.value ?? 0;
  }

  private slot(name: string, labels: Labels) {
    let series = this.values.get(name);
    if (!series) {
      series = new Map();
      this.values.set(name, series);
    }
    const key = labelKey(labels);
    let slot = series.get(key);
    if (!slot) {
      slot = { labels: { ...labels }, value: 0 };
      series.set(key, slot);
    }
    return slot;
  }
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}

export function silentContext(signal: AbortSignal = new AbortController().signal): Context {
  return { logger: silentLogger, metrics: new MetricsRegistry(), signal };
}
