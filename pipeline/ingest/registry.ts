/** Source types by config `type`. Adding a source = one file in sources/ plus one line in the list below. */
import { defineRegistry } from "../../connectors/component.ts";
import type { RecordStream, Source, SourceComponent, SourceRuntime } from "./source.ts";
import { generatorSource } from "./sources/generator.ts";
import { httpSource } from "./sources/http.ts";
import { httpPollSource } from "./sources/http-poll.ts";
import { replaySource } from "./sources/replay.ts";
import { spooldirSource } from "./sources/spooldir.ts";
import { tailSource } from "./sources/tail.ts";
import { tcpSource } from "./sources/tcp.ts";

export const sources = defineRegistry("source", [
  spooldirSource,
  tailSource,
  replaySource,
  tcpSource,
  httpSource,
  httpPollSource,
  generatorSource,
]);

export type SourceConfig = Parameters<typeof sources.create>[0];

export function createSource(config: SourceConfig, rt: SourceRuntime): Source {
  return sources.create(config, rt);
}

/** The source's own `doctor` check. */
export function checkSource(config: SourceConfig): Promise<string> {
  return (sources.component(config) as SourceComponent<never>).check(config as never);
}

/** The record streams of the configured sources (those that put records, not LogEvents, on the bus). */
export function recordStreams(configs: readonly SourceConfig[], eventsTopic: string): RecordStream[] {
  return configs.flatMap((c) => {
    const component = sources.component(c) as SourceComponent<never>;
    return component.records ? [component.records(c as never, eventsTopic)] : [];
  });
}
