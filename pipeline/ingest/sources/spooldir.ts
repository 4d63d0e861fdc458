/**
 * Flume-style spooling directory: complete files dropped in a folder are read in name order; a file is renamed
 * NAME.COMPLETED only after every one of its lines is acknowledged by the bus. Files must not change once
 * dropped (write elsewhere, then move in). A restart resumes inside the file it was reading.
 */
import { mkdir, readdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { duration } from "../../../connectors/config-helpers.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import { sleepOrAbort as sleep } from "../../../connectors/retry.ts";
import { ingestFile } from "../file-ingest.ts";
import { globToRegExp } from "../glob.ts";
import { createParser } from "../parse/index.ts";
import { PositionStore } from "../positions.ts";
import { backlogGauges, type Source, type SourceComponent, type SourceRuntime, sourceFields } from "../source.ts";

export const spooldirSourceSchema = z
  .object({
    type: z.literal("spooldir"),
    name: sourceFields.name("spool"),
    dir: z.string().describe("Folder watched for complete log files"),
    format: sourceFields.format(),
    include: z.string().default("*").describe('Glob of file names to take, e.g. "*.log"'),
    completedSuffix: z
      .string()
      .default(".COMPLETED")
      .describe("Suffix given to a file once all its lines are on the bus"),
    pollInterval: duration("1s").default(1000).describe("How often the folder is scanned"),
    batchLines: sourceFields.batchLines(),
  })
  .strict()
  .describe("Flume-style spooling directory");

export type SpoolDirSourceConfig = z.infer<typeof spooldirSourceSchema>;

export const spooldirSource: SourceComponent<typeof spooldirSourceSchema> = {
  type: "spooldir",
  schema: spooldirSourceSchema,
  create: (config, rt) => createSpoolDirSource(config, rt),
  addressField: "dir",
  describe: (config) => `spool folder ${config.dir} (${config.include})`,
  needs: (config) => ({ read: [config.dir], write: [config.dir] }),
  resolvePaths: (config, paths) => {
    config.dir = paths.abs(config.dir);
  },
  async check(config) {
    if (!(await stat(config.dir)).isDirectory()) throw new Error(`${config.dir} is not a folder`);
    const waiting = (await readdir(config.dir)).filter((n) => !n.endsWith(config.completedSuffix));
    return `folder ${config.dir} exists, ${waiting.length} file(s) waiting`;
  },
};

export function createSpoolDirSource(config: SpoolDirSourceConfig, rt: SourceRuntime): Source {
  const parser = createParser(config.format, { keepRaw: rt.parse.keepRaw });
  const positions = new PositionStore(rt.stateDir, config.name);
  const include = globToRegExp(config.include);
  const log = rt.ctx.logger.child({ source: config.name });
  const { signal } = rt.ctx;
  const backlog = backlogGauges(rt.ctx, config.name);

  async function candidates(): Promise<string[]> {
    const names = await readdir(config.dir);
    return names
      .filter((n) => include.test(n) && !n.endsWith(config.completedSuffix) && !n.startsWith("."))
      .sort()
      .map((n) => join(config.dir, n));
  }

  return {
    name: config.name,
    finite: false,
    async run() {
      await mkdir(config.dir, { recursive: true });
      while (!signal.aborted) {
        let files: string[];
        try {
          files = await candidates();
        } catch (err) {
          throw new LogbenchError("NOT_FOUND", `reading spool folder ${config.dir}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        // Backlog: every file not yet completed, less what is read of the one in progress.
        const sizes = new Map<string, number>();
        for (const file of files) {
          const st = await stat(file);
          if (st.isFile()) sizes.set(file, st.size);
        }
        let waiting = [...sizes.values()].reduce((a, b) => a + b, 0);
        backlog(waiting, sizes.size);
        for (const [file, size] of sizes) {
          if (signal.aborted) return;
          const done = positions.get(file)?.offset ?? 0;
          backlog(waiting - done, sizes.size);
          const result = await ingestFile({
            source: config.name,
            file,
            parser,
            publisher: rt.publisher,
            positions,
            maxLineBytes: rt.parse.maxLineBytes,
            batchLines: config.batchLines,
            ctx: rt.ctx,
            onProgress: (offset) => backlog(waiting - offset, sizes.size),
          });
          if (result === "aborted") return;
          // Rename first, then forget the position: a crash in between leaves a finished position for a
          // file that is gone, which is harmless; the reverse order could re-read the whole file.
          await rename(file, file + config.completedSuffix);
          positions.delete(file);
          sizes.delete(file);
          waiting -= size;
          backlog(waiting, sizes.size);
          log.info("Spooled a file onto the bus.", { file });
        }
        await sleep(config.pollInterval, signal);
      }
    },
  };
}
