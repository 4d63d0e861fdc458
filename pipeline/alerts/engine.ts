/**
 * The alert engine of one daemon: evaluates the rules (window rules on every aggregate flush, metric rules every
 * `alerts.interval`), moves each rule between resolved and firing, says so in the log (WARN on fire, INFO on
 * resolve) and in `logbench_alerts_firing{rule}`, and sends each transition to every webhook, retried with the
 * stages' backoff (pipeline/retry.ts) until the receiver takes it or the daemon stops. The state is persisted
 * (state.ts), so a restart neither repeats a fire nor drops a notification still owed.
 */
import { join } from "node:path";
import type { Context, MetricsRegistry } from "../../connectors/context.ts";
import { isLogbenchError } from "../../connectors/errors.ts";
import { sumMetric } from "../api/status.ts";
import type { WindowSummary } from "../model/window.ts";
import { retryWhileRunning } from "../retry.ts";
import { payload, postWebhook } from "./deliver.ts";
import { type Condition, conditionFor, type Observation } from "./rules.ts";
import type { AlertRule, AlertsConfig, WebhookConfig } from "./schema.ts";
import { type AlertState, loadAlertState, type RuleState, saveAlertState } from "./state.ts";

export interface AlertEngineDeps {
  config: AlertsConfig;
  stateDir: string;
  ctx: Context;
  /** Read for ingest counters (events per source, dead letters). */
  metrics: MetricsRegistry;
  /** Consumer lag per group of this daemon. */
  lag: () => Promise<Record<string, number>>;
  /** The daemon API's base URL for the alerts' generatorURL ("" without an API). */
  externalURL?: () => string;
}

/** A firing alert as `/api/alerts` and the live page show it. */
export interface FiringAlert {
  rule: string;
  type: AlertRule["type"];
  severity: string;
  summary: string | null;
  startsAt: number;
  value: number;
  detail: string;
}

export const ALERTS_FIRING = "logbench_alerts_firing";

export class AlertEngine {
  private state: AlertState = { version: 1, rules: {} };
  private readonly conditions = new Map<string, Condition>();
  private windows: WindowSummary[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private evaluating: Promise<void> = Promise.resolve();
  private saving: Promise<void> = Promise.resolve();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly file: string;

  constructor(private readonly deps: AlertEngineDeps) {
    this.file = join(deps.stateDir, "alerts.json");
    const m = deps.ctx.metrics;
    m.describe(ALERTS_FIRING, "gauge", "1 while the alert rule fires, else 0");
    m.describe("logbench_alerts_notifications_total", "counter", "Alert notifications a webhook took, by status");
    m.describe("logbench_alerts_delivery_errors_total", "counter", "Failed webhook deliveries, by code");
  }

  async start(): Promise<void> {
    const now = Date.now();
    const loaded = await loadAlertState(this.file);
    const names = new Set(this.deps.config.rules.map((r) => r.name));
    const urls = new Set(this.deps.config.webhooks.map((h) => h.url));
    // Rules and webhooks removed from the config are forgotten.
    for (const [name, st] of Object.entries(loaded.rules)) {
      if (!names.has(name)) continue;
      st.pending = st.pending.filter((u) => urls.has(u));
      this.state.rules[name] = st;
    }
    for (const rule of this.deps.config.rules) {
      this.conditions.set(rule.name, conditionFor(rule, now));
      this.deps.ctx.metrics.set(ALERTS_FIRING, { rule: rule.name }, this.isFiring(rule.name) ? 1 : 0);
    }
    this.kick();
    this.timer = setInterval(() => this.evaluate(), this.deps.config.interval);
    this.timer.unref();
  }

  /** The aggregate stage flushed: window rules look at the newest windows. */
  onWindows(windows: WindowSummary[]): void {
    this.windows = windows;
    this.evaluate();
  }

  firing(): FiringAlert[] {
    return this.deps.config.rules.flatMap((rule) => {
      const st = this.state.rules[rule.name];
      if (st?.status !== "firing") return [];
      const { startsAt, value, detail } = st;
      return [
        {
          rule: rule.name,
          type: rule.type,
          severity: rule.severity,
          summary: rule.summary ?? null,
          startsAt,
          value,
          detail,
        },
      ];
    });
  }

  /** Stops evaluating; deliveries end with the daemon's signal, and what they still owe stays in the state file. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.evaluating;
    await Promise.allSettled([...this.workers.values()]);
    await this.saving;
  }

  /** Runs one evaluation after the one in progress (evaluations never overlap). */
  evaluate(): Promise<void> {
    this.evaluating = this.evaluating
      .then(() => this.evaluateOnce())
      .catch((err) => {
        this.deps.ctx.logger.warn("Evaluating the alert rules failed; the next evaluation tries again.", { err });
      });
    return this.evaluating;
  }

  private isFiring(name: string): boolean {
    return this.state.rules[name]?.status === "firing";
  }

  private async observe(): Promise<Observation> {
    const { metrics, config } = this.deps;
    const eventsBySource: Record<string, number> = {};
    for (const { labels, value } of metrics.values.get("logbench_ingest_events_total")?.values() ?? [])
      eventsBySource[labels.source ?? ""] = (eventsBySource[labels.source ?? ""] ?? 0) + value;
    const wantsLag = config.rules.some((r) => r.type === "consumer-lag");
    return {
      now: Date.now(),
      windows: this.windows,
      eventsBySource,
      deadLetters: sumMetric(metrics, "logbench_ingest_dead_letters_total"),
      lag: wantsLag ? await this.deps.lag().catch(() => null) : null,
    };
  }

  private async evaluateOnce(): Promise<void> {
    if (this.deps.ctx.signal.aborted) return;
    const o = await this.observe();
    const { logger, metrics } = this.deps.ctx;
    const hooks = this.deps.config.webhooks.map((h) => h.url);
    let changed = false;
    for (const rule of this.deps.config.rules) {
      const verdict = this.conditions.get(rule.name)!.evaluate(o);
      if (!verdict) continue;
      const before = this.state.rules[rule.name];
      if (verdict.active && before?.status !== "firing") {
        const st: RuleState = { status: "firing", startsAt: o.now, endsAt: null, ...verdict, pending: [...hooks] };
        this.state.rules[rule.name] = st;
        logger.warn("Alert firing.", { rule: rule.name, severity: rule.severity, detail: verdict.detail });
      } else if (!verdict.active && before?.status === "firing") {
        const st: RuleState = { ...before, status: "resolved", endsAt: o.now, ...verdict, pending: [...hooks] };
        this.state.rules[rule.name] = st;
        logger.info("Alert resolved.", { rule: rule.name, detail: verdict.detail });
      } else continue;
      changed = true;
      metrics.set(ALERTS_FIRING, { rule: rule.name }, verdict.active ? 1 : 0);
    }
    if (!changed) return;
    await this.save();
    this.kick();
  }

  private save(): Promise<void> {
    const snapshot = structuredClone(this.state);
    this.saving = this.saving.then(() => saveAlertState(this.file, snapshot));
    return this.saving;
  }

  /** Starts a delivery worker for each webhook that is owed something and has none running. */
  private kick(): void {
    for (const hook of this.deps.config.webhooks) {
      if (this.workers.has(hook.url)) continue;
      const run = this.deliverAll(hook).finally(() => {
        this.workers.delete(hook.url);
        // A transition that came while the worker was finishing.
        if (!this.deps.ctx.signal.aborted && this.owed(hook.url)) this.kick();
      });
      this.workers.set(hook.url, run);
    }
  }

  private owed(url: string): string | undefined {
    return Object.keys(this.state.rules).find((name) => this.state.rules[name]!.pending.includes(url));
  }

  private async deliverAll(hook: WebhookConfig): Promise<void> {
    const { ctx, config } = this.deps;
    for (let name = this.owed(hook.url); name !== undefined && !ctx.signal.aborted; name = this.owed(hook.url)) {
      const st = this.state.rules[name]!;
      const rule = config.rules.find((r) => r.name === name)!;
      const body = payload(rule, st, this.deps.externalURL?.() ?? "");
      try {
        await retryWhileRunning(
          ctx,
          { doing: `delivering alert ${name} to ${hook.url}`, errorMetric: "logbench_alerts_delivery_errors_total" },
          () => postWebhook(hook, body, ctx.signal),
        );
        ctx.metrics.inc("logbench_alerts_notifications_total", { status: st.status });
      } catch (err) {
        if (ctx.signal.aborted) return;
        // Not retryable (a 4xx): the receiver will never take it; an operator must fix the receiver or the rule.
        ctx.logger.error("A webhook refused an alert notification; it is dropped.", {
          rule: name,
          url: hook.url,
          code: isLogbenchError(err) ? err.code : "INTERNAL",
          err,
        });
      }
      st.pending = st.pending.filter((u) => u !== hook.url);
      await this.save();
    }
  }
}
