/** Source types by config `type`. Adding a source = one file in sources/ plus one line in the list below. */
import { defineRegistry } from "../../connectors/component.ts";
import type { Source, SourceComponent, SourceRuntime } from "./source.ts";
import { generatorSource } from "./sources/generator.ts";
import { replaySource } from "./sources/replay.ts";
import { spooldirSource } from "./sources/spooldir.ts";

export const sources = defineRegistry("source", [spooldirSource, replaySource, generatorSource]);

export type SourceConfig = Parameters<typeof sources.create>[0];

export function createSource(config: SourceConfig, rt: SourceRuntime): Source {
  return sources.create(config, rt);
}

/** The source's own `doctor` check. */
export function checkSource(config: SourceConfig): Promise<string> {
  return (sources.component(config) as SourceComponent<never>).check(config as never);
}
