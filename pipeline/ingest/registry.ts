/** Source types by config `type`. Adding a source = one file in sources/ plus one line in the list below. */
import { defineRegistry } from "../../connectors/component.ts";
import type { Source, SourceComponent, SourceRuntime } from "./source.ts";
import { httpSource } from "./sources/http.ts";
import { replaySource } from "./sources/replay.ts";
import { spooldirSource } from "./sources/spooldir.ts";
import { tcpSource } from "./sources/tcp.ts";

export const sources = defineRegistry("source", [spooldirSource, replaySource, tcpSource, httpSource]);

export type SourceConfig = Parameters<typeof sources.create>[0];

export function createSource(config: SourceConfig, rt: SourceRuntime): Source {
  return sources.create(config, rt);
}

/** The source's own `doctor` check. */
export function checkSource(config: SourceConfig): Promise<string> {
  return (sources.component(config) as SourceComponent<never>).check(config as never);
}
