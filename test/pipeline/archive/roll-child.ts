/**
 * A daemon's archive stage killed in the middle of a roll of many buckets (roll-many.test.ts): it reads MESSAGES
 * messages of partition 0, is revoked (one roll of HOURS files), and stops for good at the point named by its
 * arguments, saying "at <point>" on stdout, so that the test can SIGKILL it there:
 *   create N   after the N-th temporary Parquet file is written (before the roll's log entry exists)
 *   rename N   after the N-th file is renamed into place (the entry is committed)
 *   synced     after the new names are synced, before older log entries are pruned
 * Usage: roll-child.ts <archive dir> <scratch dir> <point> [N]
 */
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import type { ArchiveStore } from "../../../connectors/types.ts";
import { MESSAGES, range, rollingStage, scriptedBus } from "./roll-fixture.ts";

const [root, scratch, point, n] = process.argv.slice(2);
const ctx = silentContext();
const real = createLocalArchive({ type: "local", dir: root! }, ctx);
const stopHere = async (): Promise<never> => {
  process.stdout.write(`at ${point}\n`);
  return new Promise<never>(() => {});
};
let creates = 0;
let renames = 0;
const store: ArchiveStore = Object.assign(Object.create(real) as ArchiveStore, {
  create: async (path: string, data: Uint8Array, o?: { overwrite?: boolean; durable?: boolean }) => {
    await real.create(path, data, o);
    if (path.startsWith("_logbench/tmp/") && point === "create" && ++creates === Number(n)) await stopHere();
  },
  rename: async (from: string, to: string, o?: { durable?: boolean }) => {
    const done = await real.rename(from, to, o);
    if (from.startsWith("_logbench/tmp/") && point === "rename" && ++renames === Number(n)) await stopHere();
    return done;
  },
  sync: async (paths: string[]) => {
    await real.sync(paths);
    if (point === "synced" && paths.some((p) => p.startsWith("weblogs/"))) await stopHere();
  },
});
const { bus, options } = scriptedBus();
const stage = rollingStage(store, bus, scratch!, ctx);
await stage.start();
await options().onAssigned!([{ partition: 0, committed: null }]);
await options().onBatch(0, range(0, MESSAGES));
await options().onRevoked!([0]);
process.stdout.write("rolled\n");
