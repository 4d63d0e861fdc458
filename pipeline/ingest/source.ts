/**
 * What every source gets and gives. A source is one component (schema, factory, description, doctor check)
 * in one file under sources/, plus one line in registry.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { Component, TypedSchema } from "../../connectors/component.ts";
import type { Context } from "../../connectors/context.ts";
import type { Publisher } from "./publisher.ts";

export interface SourceRuntime {
  publisher: Publisher;
  stateDir: string;
  parse: { maxLineBytes: number; keepRaw: boolean };
  ctx: Context;
  /** The daemon's HTTP API, for sources that are pushed to (absent when `api.enabled` is false). */
  http?: HttpRoutes;
}

/** Answers one request; it owns the response (status, body) and never rejects. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Routes under `/api/ingest/<name>` on the daemon's API server. The server checks the bearer token before a
 * handler sees the request and answers 404 for a name nobody registered.
 */
export interface HttpRoutes {
  /** Serves `/api/ingest/<name>` (any method) with `handler`; returns the function that removes it. */
  route(name: string, handler: HttpHandler): () => void;
}

export interface Source {
  readonly name: string;
  /** True when `run()` ends by itself once its input is exhausted (a replay); false when it runs until stopped. */
  readonly finite: boolean;
  /** Runs until the source is exhausted (finite) or ctx.signal aborts; rejects on failure. */
  run(): Promise<void>;
}

export interface SourceComponent<S extends TypedSchema> extends Component<S, SourceRuntime, Source> {
  /** `logbench doctor`: what can be checked without starting it (a folder exists, files are readable…). */
  check(config: z.infer<S>): Promise<string>;
  /**
   * A source that puts records (not LogEvents) on the bus says where and what they become: the archive and the
   * records stage subscribe to its topic, the query catalog shows its measurement. `eventsTopic` is the config's
   * `topic`, from which default records topic names are made.
   */
  records?(config: z.infer<S>, eventsTopic: string): RecordStream;
}

/** One source's records on the bus (see pipeline/model/record.ts) and the series points made of them. */
export interface RecordStream {
  source: string;
  /** Bus topic of its RecordMessages; also their folder in the archive. */
  topic: string;
  /** Each record becomes one point of this measurement. */
  measurement: string;
  /** Record fields that become tags (as strings). */
  tags: string[];
  /** Record fields that become numeric fields. */
  fields: string[];
}

/** Fields most sources share, so their names, defaults and descriptions stay the same everywhere. */
export const sourceFields = {
  name: (fallback: string) =>
    z.string().min(1).default(fallback).describe("Source name, the `source` field of its events"),
  format: () =>
    z
      .string()
      .min(1)
      .default("combined")
      .describe('Log format: "clf", "combined", "nginx", "json", or an Apache LogFormat string'),
  batchLines: () => z.number().int().positive().default(5000).describe("Lines per bus batch"),
};

/**
 * The source's backlog gauges, set together: `logbench_source_backlog_bytes{source}` (bytes behind the end of
 * the files it reads) and `logbench_source_backlog_files{source}` (files waiting: not yet completed in a spool
 * folder, rotated away and not yet finished for a tail).
 */
export function backlogGauges(ctx: Context, source: string): (bytes: number, files: number) => void {
  ctx.metrics.describe("logbench_source_backlog_bytes", "gauge", "Bytes behind the end of the files a source reads");
  ctx.metrics.describe("logbench_source_backlog_files", "gauge", "Files a source has still to finish");
  const labels = { source };
  return (bytes, files) => {
    ctx.metrics.set("logbench_source_backlog_bytes", labels, bytes);
    ctx.metrics.set("logbench_source_backlog_files", labels, files);
  };
}
