/**
 * Follows growing log files (`tail -F`): the files matching `paths`, from their end on the first start (or their
 * start with `fromStart`), every file that appears later from its start. Polls with fs.stat every `pollInterval`;
 * fs.watch events only wake it sooner.
 *
 * Rotation. Each file is read through an open handle, so a file renamed away (logrotate's default) or deleted is
 * read to its end: once it has stayed unchanged for `rotateWait` (its writer may append until it reopens the log),
 * its last line is taken even without a newline, and only then are the files after it read. A file that shrinks
 * or no longer starts with the bytes it started with was truncated (`copytruncate`): the copy beside it, found by
 * those first bytes, is read on from where the file was, and the file itself from 0.
 *
 * Exactly once across kill -9, as file-ingest.ts: every saved position carries the bus high watermarks. The
 * source reads one file at a time and saves a file's position before each of its batches, so after a crash only
 * the file saved last (PositionStore.last) can have lines on the bus past its marks; they are read back from the
 * bus, that file is read first, and those lines are skipped once.
 */
import { access, constants, stat } from "node:fs/promises";
import { z } from "zod";
import { duration } from "../../../connectors/config-helpers.ts";
import { sleepOrAbort as sleep } from "../../../connectors/retry.ts";
import { alreadyOnBus, countRead, type LineTarget, settled, sortLines } from "../file-ingest.ts";
import { expandGlobs, globBase } from "../glob.ts";
import { readLines } from "../lines.ts";
import { createParser } from "../parse/index.ts";
import { type FilePosition, PositionStore } from "../positions.ts";
import { backlogGauges, type Source, type SourceComponent, type SourceRuntime, sourceFields } from "../source.ts";
import { FileChanged } from "./tail-files.ts";
import { type Followed, FollowedFiles } from "./tail-state.ts";

/** About how much one file is read before the paths are looked at again. */
const DRAIN_BYTES = 8 * 1024 * 1024;

export const tailSourceSchema = z
  .object({
    type: z.literal("tail"),
    name: sourceFields.name("tail"),
    paths: z
      .array(z.string().min(1))
      .min(1)
      .describe("Files followed; a glob such as /var/log/nginx/*.log also takes files that appear later"),
    format: sourceFields.format(),
    fromStart: z
      .boolean()
      .default(false)
      .describe("Read the files found on the very first start from their beginning, not their end"),
    pollInterval: duration("250ms").default(250).describe("How often the files are looked at"),
    rotateWait: duration("1s")
      .default(1000)
      .describe("How long a rotated file must stay unchanged at its end before it is finished"),
    watch: z.boolean().default(true).describe("Use fs.watch events to look sooner than the next poll"),
    batchLines: sourceFields.batchLines(),
  })
  .strict()
  .describe("Follows growing log files through rename and copytruncate rotation");

export type TailSourceConfig = z.infer<typeof tailSourceSchema>;

export const tailSource: SourceComponent<typeof tailSourceSchema> = {
  type: "tail",
  schema: tailSourceSchema,
  create: (config, rt) => createTailSource(config, rt),
  addressField: "paths",
  describe: (config) => `tail of ${config.paths.join(", ")}`,
  needs: (config) => ({ read: [...new Set(config.paths.map(globBase))] }),
  resolvePaths: (config, paths) => {
    config.paths = config.paths.map(paths.abs);
  },
  async check(config) {
    for (const base of new Set(config.paths.map(globBase))) {
      const st = await stat(base).catch(() => null);
      if (!st?.isDirectory()) throw new Error(`folder ${base} does not exist`);
    }
    const files: { path: string; size: number }[] = [];
    for (const path of await expandGlobs(config.paths)) {
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) continue;
      await access(path, constants.R_OK).catch(() => {
        throw new Error(`${path} is not readable by this user`);
      });
      files.push({ path, size: st.size });
    }
    if (files.length === 0) return `no file matches ${config.paths.join(", ")} yet; the source waits for one`;
    const total = files.reduce((s, f) => s + f.size, 0);
    const list = files.slice(0, 3).map((f) => `${f.path} ${bytes(f.size)}`);
    if (files.length > 3) list.push(`${files.length - 3} more`);
    return `${files.length} file(s) match, ${bytes(total)}: ${list.join(", ")}`;
  },
};

function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const [unit, div] = n < 1e6 ? ["kB", 1e3] : n < 1e9 ? ["MB", 1e6] : ["GB", 1e9];
  return `${(n / (div as number)).toFixed(1)} ${unit}`;
}

export function createTailSource(config: TailSourceConfig, rt: SourceRuntime): Source {
  const parser = createParser(config.format, { keepRaw: rt.parse.keepRaw });
  const positions = new PositionStore(rt.stateDir, config.name);
  const { ctx, publisher } = rt;
  const log = ctx.logger.child({ source: config.name });
  const backlog = backlogGauges(ctx, config.name);
  const files = new FollowedFiles(config, positions, publisher, log, ctx.metrics);
  const target = (file: string): LineTarget => ({
    source: config.name,
    file,
    parser,
    publisher,
    maxLineBytes: rt.parse.maxLineBytes,
    ctx,
  });
  let wake = new AbortController();

  /**
   * Reads what `f` holds past its position (up to about DRAIN_BYTES, so that a long backlog does not hold up the
   * next look at the paths: "more" then); finishes it when it is rotated away and done growing.
   */
  async function drain(f: Followed): Promise<"idle" | "read" | "more" | "finished" | "aborted"> {
    const st = await f.fh.stat();
    const now = Date.now();
    if (st.size !== f.size) {
      f.size = st.size;
      f.changedAt = now;
    }
    f.mtimeMs = st.mtimeMs;
    if (st.size < f.pos.offset) {
      if (f.live) return "idle"; // truncated: the next scan sees it
      log.warn("A rotated file shrank before it was read to its end; it is left as it is.", {
        file: f.pos.path,
        offset: f.pos.offset,
        size: st.size,
      });
      await files.finish(f);
      return "finished";
    }
    const finishing = !f.live && (f.copy || now - f.changedAt >= config.rotateWait);
    if (!finishing && f.readTo === st.size) return "idle";
    const lines = readLines(files.range(f, st.size), {
      maxLineBytes: rt.parse.maxLineBytes,
      startOffset: f.pos.offset,
      startLine: f.pos.line,
      batchLines: config.batchLines,
      flushPartialAtEnd: finishing,
    });
    const from = f.pos.offset;
    try {
      for await (const batch of lines) {
        if (positions.last !== f.key) await files.save(f, {}); // marks taken before this file's first batch
        const { events, dead } = sortLines(target(f.pos.path!), batch, f.pending);
        await publisher.publish(config.name, events, dead);
        const last = batch[batch.length - 1]!;
        countRead(ctx, config.name, last.end - f.pos.offset);
        await files.save(f, { offset: last.end, line: last.lineNo });
        if (settled(f.pending)) f.pending = null;
        if (ctx.signal.aborted) return "aborted";
        if (f.pos.offset - from >= DRAIN_BYTES && f.pos.offset < st.size) return "more";
      }
    } catch (err) {
      if (err instanceof FileChanged) return "idle"; // truncated while read: the next scan takes it from there
      throw err;
    }
    f.readTo = st.size;
    if (!finishing) return "read";
    await files.finish(f);
    log.info("Finished a rotated file.", { file: f.pos.path, bytes: f.pos.offset });
    return "finished";
  }

  /** One look and one read of each file; "busy" when a file has more to read at once. */
  async function cycle(): Promise<"stop" | "busy" | "idle"> {
    await files.scan();
    let busy = false;
    for (const f of files.inReadingOrder()) {
      const result = await drain(f);
      if (result === "aborted") return "stop";
      if (result === "more") busy = true;
      else if (f.pending && f.live) {
        log.warn("Lines found on the bus past the saved position were not met again in the file.", {
          file: f.pos.path,
        });
        f.pending = null;
      }
      // The old file is read to its end before the new one: later files wait while a rotated one is unfinished.
      if (!f.live && result !== "finished") break;
    }
    backlog(files.backlogBytes(), files.rotatedCount());
    return ctx.signal.aborted ? "stop" : busy ? "busy" : "idle";
  }

  return {
    name: config.name,
    finite: false,
    async run() {
      const stopWatching = config.watch ? files.watch(() => wake.abort()) : () => {};
      try {
        await files.resume(async (pos: FilePosition) => alreadyOnBus(target(pos.path!), pos));
        for (;;) {
          wake = new AbortController(); // before the cycle, so that a change during it is not missed
          const state = await cycle();
          if (state === "stop") break;
          if (state === "busy") continue;
          // A burst of watch events must not turn polling into a busy loop.
          await sleep(Math.min(config.pollInterval, 25), ctx.signal);
          await sleep(config.pollInterval, AbortSignal.any([ctx.signal, wake.signal]));
        }
      } finally {
        stopWatching();
        await files.closeAll();
      }
    },
  };
}
