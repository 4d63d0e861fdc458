/**
 * Delivery to webhooks in Alertmanager's webhook payload (version "4", as Alertmanager's `webhook_config`
 * sends it: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config), so anything that takes
 * Alertmanager's notifications (Slack or PagerDuty bridges, another Alertmanager's relays) takes logbench's.
 * One notification per rule, grouped by alertname. HTTP 5xx, 429 and connection failures are retryable; other
 * 4xx answers mean the receiver will never take it.
 */
import { createHash } from "node:crypto";
import { LogbenchError } from "../../connectors/errors.ts";
import type { AlertRule, WebhookConfig } from "./schema.ts";
import type { RuleState } from "./state.ts";

export interface AlertmanagerAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** Alertmanager's zero time, which it sends as endsAt of a firing alert. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export function alertLabels(rule: AlertRule): Record<string, string> {
  return { alertname: rule.name, severity: rule.severity, service: "logbench", rule_type: rule.type };
}

export function toAlert(rule: AlertRule, state: RuleState, externalURL: string): AlertmanagerAlert {
  const labels = alertLabels(rule);
  return {
    status: state.status,
    labels,
    annotations: { summary: rule.summary ?? `logbench rule ${rule.name}`, description: state.detail },
    startsAt: new Date(state.startsAt).toISOString(),
    endsAt: state.endsAt === null ? ZERO_TIME : new Date(state.endsAt).toISOString(),
    generatorURL: externalURL ? `${externalURL}/api/alerts` : "",
    fingerprint: fingerprint(labels),
  };
}

export function payload(rule: AlertRule, state: RuleState, externalURL: string): AlertmanagerPayload {
  const alert = toAlert(rule, state, externalURL);
  return {
    version: "4",
    groupKey: `{}:{alertname="${rule.name}"}`,
    truncatedAlerts: 0,
    status: state.status,
    receiver: "logbench",
    groupLabels: { alertname: rule.name },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL,
    alerts: [alert],
  };
}

/** 16 hex digits over the sorted labels, as Alertmanager's fingerprints look. */
function fingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join("\u0001");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** One POST; throws a LogbenchError whose `retryable` says whether another attempt can help. */
export async function postWebhook(hook: WebhookConfig, body: AlertmanagerPayload, signal: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (hook.token) headers.Authorization = `Bearer ${hook.token}`;
  let res: Response;
  try {
    res = await fetch(hook.url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(hook.timeout)]),
    });
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError";
    throw new LogbenchError(
      timedOut ? "TIMEOUT" : "UNAVAILABLE",
      `posting to ${hook.url}: ${timedOut ? `no answer within ${hook.timeout}ms` : (err as Error).message}`,
      { cause: err },
    );
  }
  await res.body?.cancel();
  if (res.ok) return;
  const retryAfter = Number(res.headers.get("retry-after"));
  const code = res.status === 429 ? "THROTTLED" : res.status >= 500 ? "UNAVAILABLE" : "BAD_REQUEST";
  throw new LogbenchError(code, `posting to ${hook.url}: HTTP ${res.status}`, {
    ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    ...(res.status === 401 || res.status === 403 ? { retryable: false } : {}),
  });
}
