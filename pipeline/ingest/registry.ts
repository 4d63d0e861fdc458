/** Source types by config `type`. Adding a source = one file in sources/ plus one line here. */
import type { SourceConfig } from "../config/schema.ts";
import type { Source, SourceRuntime } from "./source.ts";
import { createReplaySource } from "./sources/replay.ts";
import { createSpoolDirSource } from "./sources/spooldir.ts";

export function createSource(config: SourceConfig, rt: SourceRuntime): Source {
  switch (config.type) {
    case "spooldir":
      return createSpoolDirSource(config, rt);
    case "replay":
      return createReplaySource(config, rt);
  }
}
