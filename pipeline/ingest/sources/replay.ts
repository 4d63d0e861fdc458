/**
 * Replays log files onto the bus once, as fast as possible or at N times the pace of the lines' own
 * timestamps (the seed projects replayed NASA logs with a delay per line). The position is remembered, so a
 * restart continues where it stopped and a finished replay is not repeated.
 */
import { access, constants } from "node:fs/promises";
import { z } from "zod";
import { sleepOrAbort as sleep } from "../../../connectors/retry.ts";
import { ingestFile } from "../file-ingest.ts";
import { createParser } from "../parse/index.ts";
import { PositionStore } from "../positions.ts";
import { type Source, type SourceComponent, type SourceRuntime, sourceFields } from "../source.ts";

export const replaySourceSchema = z
  .object({
    type: z.literal("replay"),
    name: sourceFields.name("replay"),
    files: z.array(z.string()).min(1).describe("Log files replayed once, in order"),
    format: sourceFields.format(),
    speed: z
      .number()
      .nonnegative()
      .default(0)
      .describe("0 = as fast as possible; N = N times the original pace from the lines' timestamps"),
    batchLines: sourceFields.batchLines(),
  })
  .strict()
  .describe("Replays log files onto the bus once (remembering how far it got)");

export type ReplaySourceConfig = z.infer<typeof replaySourceSchema>;

export const replaySource: SourceComponent<typeof replaySourceSchema> = {
  type: "replay",
  schema: replaySourceSchema,
  create: (config, rt) => createReplaySource(config, rt),
  addressField: "files",
  describe: (config) => `replay of ${config.files.length} file(s)`,
  needs: (config) => ({ read: [...config.files] }),
  resolvePaths: (config, paths) => {
    config.files = config.files.map(paths.abs);
  },
  async check(config) {
    for (const file of config.files) await access(file, constants.R_OK);
    return `${config.files.length} file(s) readable`;
  },
};

export function createReplaySource(config: ReplaySourceConfig, rt: SourceRuntime): Source {
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
    finite: true,
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
