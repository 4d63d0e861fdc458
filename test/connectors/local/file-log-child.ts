/**
 * Child process for the local file log tests (run with tsx):
 *   produce DIR TOPIC PREFIX COUNT BATCH   produce COUNT records, print "acked <n>" after each batch
 *   flood DIR TOPIC PREFIX                 produce big batches until killed, "acked <n>" after each
 *   consume DIR TOPIC GROUP                join GROUP, print "assigned <partitions>", then wait to be killed
 *   tear DIR TOPIC PARTITION               take the partition's append lock, write half a frame, print
 *                                          "torn", wait to be killed: the state a kill mid-write leaves
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { silentContext } from "../../../connectors/context.ts";
import { localBusSchema } from "../../../connectors/local/config.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import { encodeFrames } from "../../../connectors/local/frame.ts";
import { acquireLock } from "../../../connectors/local/lock-file.ts";

const [mode, dir, topic, arg, count, batch] = process.argv.slice(2);
const bus = createLocalBus(localBusSchema.parse({ type: "local", dir, partitions: 3 }), silentContext());
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === "produce") {
  const total = Number(count);
  const size = Number(batch);
  for (let i = 0; i < total; i += size) {
    const records = [];
    for (let j = i; j < Math.min(total, i + size); j++) {
      records.push({ key: `host-${j % 17}`, value: `${arg}-${j}`, timestamp: 1_000_000 + j });
    }
    await bus.produce(topic!, records);
    say(`acked ${Math.min(total, i + size)}`);
  }
  await bus.close();
} else if (mode === "flood") {
  const filler = "x".repeat(20_000);
  for (let n = 0; ; ) {
    const records = [];
    for (let j = 0; j < 100; j++, n++) records.push({ key: `host-${n % 17}`, value: `${arg}-${n}-${filler}` });
    await bus.produce(topic!, records);
    say(`acked ${n}`);
  }
} else if (mode === "consume") {
  await bus.subscribe({
    topic: topic!,
    group: arg!,
    onBatch: async () => {},
    onAssigned: async (a) => {
      say(`assigned ${a.map((x) => x.partition).join(",")}`);
    },
  });
  setInterval(() => {}, 60_000);
} else if (mode === "tear") {
  await bus.partitions(topic!); // creates the topic
  const base = join(dir!, topic!, arg!);
  await acquireLock(join(base, "append.lock"), { staleMs: 30_000, timeoutMs: 10_000 });
  const frame = encodeFrames([{ key: "torn", value: new TextEncoder().encode("t".repeat(5000)), timestamp: 1 }]);
  await appendFile(join(base, "log"), frame.subarray(0, 2500));
  say("torn");
  setInterval(() => {}, 60_000);
} else {
  throw new Error(`unknown mode ${mode}`);
}
