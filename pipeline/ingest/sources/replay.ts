/**
 * Replays log files onto the bus once, as fast as possible or at N times the pace of the lines' own
 * timestamps (the seed projects replayed NASA logs with a delay per line). The position is remembered, so a
 * restart continues where it stopped and a finished replay is not repeated.
 */

import type { z } from "zod";
import { sleepOrAbort as sleep } from "../../../connectors/retry.ts";
import type { replaySourceSchema } from "../../config/schema.ts";
import { ingestFile } from "../file-ingest.ts";
import { createParser } from "../parse/index.ts";
import { PositionStore } from "../positions.ts";
import type { Source, SourceRuntime } from "../source.ts";

export function createReplaySource(config: z.infer<typeof replaySourceSchema>, rt: SourceRuntime): Source {
  const parser = createParser(config.format, { keepRaw: rt.parse.keepRaw });
  const positions = new PositionStore(rt.stateDir, config.name);
  const log = rt.ctx.logger.child({ source: config.name });
  // Paced replays send small batches so that events leave close to their time.
  const batchLines = config.speed > 0 ? Math.min(config.batchLines, 50) : config.batchLines;
  let clock: { wall: number; event: number } | null = null;
  const pace = async (events: { ts: number }[]) => {
    const ts = events[events.length - 1]!.ts;
    clock ??= { wall: Date.now(), event: events[0]!.ts };
    const due = clock.wall + (ts - clock.event) / config.speed;
    if (due > Date.now()) await sleep(due - Date.now(), rt.ctx.signal);
  };
  return {
    name: config.name,
    async run() {
      for (const file of config.files) {
        const started = Date.now();
        const result = await ingestFile({
          source: config.name,
          file,
          parser,
          publisher: rt.publisher,
          positions,
          maxLineBytes: rt.parse.maxLineBytes,
          batchLines,
          ctx: rt.ctx,
          ...(config.speed > 0 ? { pace } : {}),
        });
        if (result === "aborted") return;
        log.info("Replayed a file onto the bus.", { file, ms: Date.now() - started });
      }
    },
  };
}
