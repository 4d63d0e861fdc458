/**
 * The `alerts:` section of the config: rules over the aggregate stage's window summaries and over the daemon's
 * metrics, and the webhooks that receive them in Alertmanager's webhook format (see deliver.ts).
 */
import { z } from "zod";
import { duration, httpUrl, secret } from "../../connectors/config-helpers.ts";

/** Window measures a rule can read: the `requests` measurement's fields (pipeline/model/window.ts). */
export const WINDOW_MEASURES = ["count", "bytes", "status_4xx", "status_5xx", "unique_hosts"] as const;
export type WindowMeasure = (typeof WINDOW_MEASURES)[number];

const common = {
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_:-]*$/, "a rule name is letters, digits, _ : - (it becomes the alertname label)")
    .describe("Unique rule name: the `alertname` label and the `rule` label of logbench_alerts_firing"),
  severity: z.string().default("warning").describe("The `severity` label sent with the alert"),
  summary: z.string().optional().describe("The `summary` annotation; a sentence saying what is wrong"),
};

const windowRule = z
  .object({
    type: z.literal("window"),
    ...common,
    measure: z.enum(WINDOW_MEASURES).describe("Window measure compared (a field of the requests measurement)"),
    per: z
      .enum(WINDOW_MEASURES)
      .optional()
      .describe("Divide by this measure (a ratio such as status_5xx per count); windows where it is 0 do not count"),
    above: z.number().optional().describe("Fire when the measure (or ratio) is above this"),
    below: z.number().optional().describe("Fire when the measure (or ratio) is below this"),
    windows: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(1)
      .describe("Fire only when each of the newest N windows is past the bound"),
  })
  .strict()
  .refine((r) => (r.above === undefined) !== (r.below === undefined), "give exactly one of above or below")
  .describe("A bound on a window measure or ratio over the newest N event-time windows");

const silenceRule = z
  .object({
    type: z.literal("silence"),
    ...common,
    source: z.string().optional().describe("Source name to watch; without it, all sources together"),
    for: duration("5m").default(300_000).describe("Fire when no event arrived for this long (wall clock)"),
  })
  .strict()
  .describe("A source went quiet: no events ingested for a while");

const lagRule = z
  .object({
    type: z.literal("consumer-lag"),
    ...common,
    group: z
      .string()
      .optional()
      .describe("Consumer group to watch; without it, the largest lag of the daemon's groups"),
    above: z.number().nonnegative().describe("Fire when the lag is above this (messages on Kafka, bytes on local)"),
    for: duration("1m").default(0).describe("Only when it stayed above for this long"),
  })
  .strict()
  .describe("A consumer group fell behind the topic");

const deadLetterRule = z
  .object({
    type: z.literal("dead-letters"),
    ...common,
    above: z.number().nonnegative().describe("Fire when more dead letters than this arrived within `over`"),
    over: duration("5m").default(300_000).describe("The sliding span the dead letters are counted over"),
  })
  .strict()
  .describe("Too many unparseable lines");

export const alertRuleSchema = z.discriminatedUnion("type", [windowRule, silenceRule, lagRule, deadLetterRule]);

export const webhookSchema = z
  .object({
    url: httpUrl().describe("Receiver URL: an Alertmanager-compatible webhook (Slack/PagerDuty bridges, …)"),
    token: secret().optional().describe("Bearer token sent to the receiver, normally ${ALERT_WEBHOOK_TOKEN}"),
    tokenFile: z.string().optional().describe("File holding the receiver's bearer token"),
    timeout: duration("10s").default(10_000).describe("Time allowed for one delivery attempt"),
  })
  .strict();

export const alertsSchema = z
  .object({
    interval: duration("15s")
      .default(15_000)
      .describe("How often metric rules (silence, lag, dead letters) are evaluated"),
    webhooks: z.array(webhookSchema).default([]).describe("Where firing and resolved alerts are sent"),
    rules: z.array(alertRuleSchema).default([]).describe("Alert rules"),
  })
  .strict()
  .refine((a) => new Set(a.rules.map((r) => r.name)).size === a.rules.length, "rule names must be unique")
  .describe("Threshold alerts, delivered to the log and to webhooks in Alertmanager's format");

export type AlertsConfig = z.infer<typeof alertsSchema>;
export type AlertRule = z.infer<typeof alertRuleSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
