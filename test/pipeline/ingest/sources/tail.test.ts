/**
 * The tail source against a real folder: where it starts, rotation by rename and by copytruncate while lines are
 * being written, a file deleted while read, partial last lines, globs, and restarts (a clean stop, a crash at the
 * worst moment, rotations while stopped, an inode reused by a new file). One client host throughout, so every
 * event lands in one partition and the bus order is the order lines were read.
 */
import { copyFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type FilePosition, PositionStore } from "../../../../pipeline/ingest/positions.ts";
import type { Publisher } from "../../../../pipeline/ingest/publisher.ts";
import { harness, LogWriter, lines, pause, until } from "./tail-helpers.ts";

const BACKLOG_FILES = "logbench_source_backlog_files";
const BACKLOG_BYTES = "logbench_source_backlog_bytes";

/** Holds the next publish until released, so the test can rotate or delete a file while the tail is inside it. */
function gate() {
  let armed = false;
  let release!: () => void;
  let held!: () => void;
  const heldP = new Promise<void>((r) => {
    held = r;
  });
  const releaseP = new Promise<void>((r) => {
    release = r;
  });
  return {
    install(p: Publisher) {
      const publish = p.publish.bind(p);
      p.publish = async (...args) => {
        if (armed) {
          armed = false;
          held();
          await releaseP;
        }
        return publish(...args);
      };
    },
    arm: () => {
      armed = true;
    },
    held: heldP,
    release: () => release(),
  };
}

describe("tail source", () => {
  it("follows from the end of what a file held at the first start, a half-written last line included", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    // History, ending in the first half of a line still being written.
    writeFileSync(access, `${lines(0, 20).join("\n")}\n${lines(20, 21)[0]!.slice(0, 25)}`);
    const t = h.start();
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    const w = new LogWriter(access);
    w.write(`${lines(20, 21)[0]!.slice(25)}\n`);
    w.lines(lines(21, 50));
    await until("30 events", async () => (await h.onBus()).events.length >= 30);
    await pause(100);
    expect((await h.onBus()).events).toEqual(lines(20, 50));
    await t.stop();
    w.close();
  });

  it("reads the files it finds from their start with fromStart", async () => {
    const h = harness();
    writeFileSync(join(h.logs, "access.log"), `${lines(0, 25).join("\n")}\n`);
    const t = h.start({ fromStart: true });
    await until("25 events", async () => (await h.onBus()).events.length >= 25);
    await pause(100);
    expect((await h.onBus()).events).toEqual(lines(0, 25));
    expect(h.metrics.get("logbench_ingest_read_bytes_total", { source: "web" })).toBe(
      statSync(join(h.logs, "access.log")).size,
    );
    await t.stop();
  });

  it("reads a file renamed away (rename rotation) to its end, writes after the rename included, then the new one", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    const t = h.start({ rotateWait: 1000 });
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    w.lines(lines(0, 30));
    await until("some events", async () => (await h.onBus()).events.length >= 10);
    renameSync(access, `${access}.1`);
    w.lines(lines(30, 35)); // one worker still writes the old file until it reopens its log
    await until("the rotated file seen", () => h.metrics.get(BACKLOG_FILES, { source: "web" }) === 1);
    const reopened = new LogWriter(access); // another worker has reopened already
    reopened.lines(lines(40, 60));
    await pause(100);
    w.lines(lines(35, 40));
    await until("60 events", async () => (await h.onBus()).events.length >= 60);
    await pause(200);
    expect((await h.onBus()).events).toEqual(lines(0, 60));
    await until("the rotated file finished", () => h.metrics.get(BACKLOG_FILES, { source: "web" }) === 0);
    expect(h.metrics.get(BACKLOG_BYTES, { source: "web" })).toBe(0);
    expect(Object.values(h.positions().files).map((p) => p.path)).toEqual([access]);
    await t.stop();
    w.close();
    reopened.close();
  });

  it("reads what it had not yet read from copytruncate's copy, then the truncated file from 0", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    const g = gate();
    const t = h.start({ watch: false }, g.install);
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    g.arm();
    w.lines(lines(0, 20));
    await g.held; // the tail is inside the file, publishing its first batch
    w.lines(lines(20, 40)); // not read before the truncation: only the copy has them
    copyFileSync(access, `${access}.1`);
    truncateSync(access, 0);
    w.lines(lines(40, 60)); // O_APPEND: written from 0 of the truncated file
    g.release();
    await until("60 events", async () => (await h.onBus()).events.length >= 60);
    await pause(200);
    expect((await h.onBus()).events).toEqual(lines(0, 60));
    expect((await h.onBus()).dead).toEqual([]);
    await t.stop();
    w.close();
  });

  it("stops reading a file truncated while it is inside it, and goes on in the copy (never the new bytes at old offsets)", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    const g = gate();
    const t = h.start({ watch: false, batchLines: 500 }, g.install);
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    g.arm();
    w.lines(lines(0, 3000)); // several read chunks: the tail holds the first, the rest are read after the truncation
    await g.held;
    copyFileSync(access, `${access}.1`);
    truncateSync(access, 0);
    w.lines(lines(3000, 4000));
    g.release();
    await until("4000 events", async () => (await h.onBus()).events.length >= 4000);
    await pause(200);
    const { events, dead } = await h.onBus();
    expect(dead).toEqual([]);
    expect(events).toEqual(lines(0, 4000));
    await t.stop();
    w.close();
  });

  it("does not read copytruncate's copy again when the glob matches it too", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    const t = h.start({ paths: [join(h.logs, "access.log*")] });
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    w.lines(lines(0, 20));
    await until("20 events", async () => (await h.onBus()).events.length >= 20);
    copyFileSync(access, `${access}.1`);
    await pause(60); // a scan may see the copy before the truncation
    truncateSync(access, 0);
    w.lines(lines(20, 30));
    await until("30 events", async () => (await h.onBus()).events.length >= 30);
    await pause(300);
    expect((await h.onBus()).events).toEqual(lines(0, 30));
    await t.stop();
    w.close();
  });

  it("reads a file deleted while it is being read to its end", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    const g = gate();
    const t = h.start({}, g.install);
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    g.arm();
    w.lines(lines(0, 40));
    await g.held;
    unlinkSync(access);
    g.release();
    await until("40 events", async () => (await h.onBus()).events.length >= 40);
    await until("the deleted file finished", () => Object.keys(h.positions().files).length === 0);
    w.reopen(); // a new file at the path is followed from its start
    w.lines(lines(40, 45));
    await until("45 events", async () => (await h.onBus()).events.length >= 45);
    expect((await h.onBus()).events).toEqual(lines(0, 45));
    await t.stop();
    w.close();
  });

  it("holds a partial last line until its newline, and takes it as it is when the file is rotated away", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    const t = h.start();
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    const [l5, l6] = lines(5, 7) as [string, string];
    w.lines(lines(0, 5));
    w.write(l5.slice(0, 30));
    await until("5 events", async () => (await h.onBus()).events.length >= 5);
    await until("the partial line in the backlog", () => h.metrics.get(BACKLOG_BYTES, { source: "web" }) === 30);
    await pause(150);
    expect((await h.onBus()).events).toHaveLength(5);
    w.write(`${l5.slice(30)}\n${l6}`); // line 6 never gets its newline
    await until("6 events", async () => (await h.onBus()).events.length >= 6);
    renameSync(access, `${access}.1`);
    w.reopen();
    w.write("garbage without a newline");
    await until("7 events", async () => (await h.onBus()).events.length >= 7);
    expect((await h.onBus()).events).toEqual(lines(0, 7));
    renameSync(access, `${access}.2`);
    await until("a dead letter", async () => (await h.onBus()).dead.length >= 1);
    const [letter] = (await h.onBus()).dead;
    expect(letter).toMatchObject({ raw: "garbage without a newline", file: `${access}.2`, offset: 0, line: 1 });
    await t.stop();
    w.close();
  });

  it("takes up a new file that matches its glob, from the start, and leaves names the glob does not match", async () => {
    const h = harness();
    const t = h.start({ paths: [join(h.logs, "*.log")] });
    await until("the first look", () => h.metrics.values.has(BACKLOG_BYTES));
    writeFileSync(join(h.logs, "a.log"), `${lines(0, 10).join("\n")}\n`);
    await until("10 events", async () => (await h.onBus()).events.length >= 10);
    writeFileSync(join(h.logs, "b.log"), `${lines(10, 20).join("\n")}\n`);
    writeFileSync(join(h.logs, "a.log.1"), `${lines(100, 110).join("\n")}\n`);
    writeFileSync(join(h.logs, ".hidden.log"), `${lines(200, 210).join("\n")}\n`);
    await until("20 events", async () => (await h.onBus()).events.length >= 20);
    await pause(200);
    expect((await h.onBus()).events).toEqual(lines(0, 20));
    await t.stop();
  });

  it("resumes where it stopped, lines written while stopped included", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    let t = h.start();
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    w.lines(lines(0, 30));
    await until("some events", async () => (await h.onBus()).events.length >= 10);
    await t.stop();
    w.lines(lines(30, 50));
    t = h.start();
    await until("50 events", async () => (await h.onBus()).events.length >= 50);
    await pause(100);
    expect((await h.onBus()).events).toEqual(lines(0, 50));
    await t.stop();
    w.close();
  });

  for (const rotation of ["rename", "copytruncate"] as const) {
    it(`resumes across a ${rotation} rotation done while it was stopped`, async () => {
      const h = harness();
      const access = join(h.logs, "access.log");
      const w = new LogWriter(access);
      let t = h.start();
      await until("the file followed", () => Object.keys(h.positions().files).length === 1);
      w.lines(lines(0, 20));
      await until("20 events", async () => (await h.onBus()).events.length >= 20);
      await t.stop();
      w.lines(lines(20, 30));
      if (rotation === "rename") {
        renameSync(access, `${access}.1`);
        w.reopen();
      } else {
        copyFileSync(access, `${access}.1`);
        truncateSync(access, 0);
      }
      w.lines(lines(30, 40));
      t = h.start();
      await until("40 events", async () => (await h.onBus()).events.length >= 40);
      await pause(300);
      expect((await h.onBus()).events).toEqual(lines(0, 40));
      await t.stop();
      w.close();
    });
  }

  // Killed after the rotated file's second batch after a restart, or after the first batch of the file after it
  // (the file saved last is then the new one: it must have been saved, with marks, before that batch).
  for (const [crashAfter, where] of [
    [2, "in a rotated file"],
    [3, "in the file after a rotated one"],
  ] as const) {
    it(`puts every line on the bus once when it dies between a batch's acknowledgement and its save, ${where}`, async () => {
      const h = harness();
      const access = join(h.logs, "access.log");
      const w = new LogWriter(access);
      let t = h.start();
      await until("the file followed", () => Object.keys(h.positions().files).length === 1);
      w.lines(lines(0, 20));
      await until("20 events", async () => (await h.onBus()).events.length >= 20);
      await t.stop();
      renameSync(access, `${access}.1`);
      const old = lines(20, 40);
      old[15] = "garbage in the batch that is on the bus but not saved";
      w.lines(old);
      w.reopen();
      w.lines(lines(40, 50));
      let published = 0;
      t = h.start({}, (p) => {
        const publish = p.publish.bind(p);
        const marks = p.marks.bind(p);
        p.publish = async (...args) => {
          await publish(...args);
          published++;
        };
        p.marks = async () => {
          if (published === crashAfter) throw new Error("simulated crash");
          return marks();
        };
      });
      await expect(t.run).rejects.toThrow("simulated crash");
      const good = [...lines(0, 35), ...lines(36, 50)];
      expect((await h.onBus()).events).toEqual(good.slice(0, crashAfter === 2 ? 39 : 49));
      t = h.start();
      await until("49 events", async () => (await h.onBus()).events.length >= 49);
      await pause(300);
      const { events, dead } = await h.onBus();
      expect(events).toEqual(good);
      expect(dead.map((d) => [d.raw, d.file, d.line])).toEqual([[old[15], `${access}.1`, 36]]);
      await t.stop();
      w.close();
    });
  }

  it("keeps what recovery found when the file saved last is found again as copytruncate's copy, across a second crash", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    const w = new LogWriter(access);
    /** Dies right after its first batch is acknowledged. */
    const crashing = (p: Publisher) => {
      const publish = p.publish.bind(p);
      const marks = p.marks.bind(p);
      let published = 0;
      p.publish = async (...args) => {
        await publish(...args);
        published++;
      };
      p.marks = async () => {
        if (published === 1) throw new Error("simulated crash");
        return marks();
      };
    };
    let t = h.start();
    await until("the file followed", () => Object.keys(h.positions().files).length === 1);
    w.lines(lines(0, 20));
    await until("20 events", async () => (await h.onBus()).events.length >= 20);
    await t.stop();
    w.lines(lines(20, 40));
    t = h.start({}, crashing); // 20..30 on the bus, not saved
    await expect(t.run).rejects.toThrow("simulated crash");
    copyFileSync(access, `${access}.1`);
    truncateSync(access, 0);
    w.lines(lines(40, 50));
    t = h.start({}, crashing); // in the copy: 20..30 skipped, then dies again before saving
    await expect(t.run).rejects.toThrow("simulated crash");
    t = h.start();
    await until("50 events", async () => (await h.onBus()).events.length >= 50);
    await pause(300);
    expect((await h.onBus()).events).toEqual(lines(0, 50));
    await t.stop();
    w.close();
  });

  it("reads a new file that has the old one's inode from its start: the fingerprint tells them apart", async () => {
    const h = harness();
    const access = join(h.logs, "access.log");
    writeFileSync(access, `${lines(0, 20).join("\n")}\n`);
    let t = h.start({ fromStart: true });
    await until("20 events", async () => (await h.onBus()).events.length >= 20);
    await t.stop();
    // The file is replaced by a longer one. Whether the filesystem hands the new file the same inode is up to it,
    // so the saved position is made to name the new file's inode, as when it does.
    unlinkSync(access);
    writeFileSync(access, `${lines(100, 140).join("\n")}\n`);
    const st = statSync(access);
    const store = new PositionStore(join(h.dir, "state"), "web");
    const [[oldKey, old]] = store.entries() as [[string, FilePosition]];
    expect(old.offset).toBeLessThan(st.size); // so the size alone cannot tell
    store.update(
      { [oldKey]: null, [`${st.dev}:${st.ino}`]: { ...old, dev: st.dev, ino: st.ino } },
      {
        last: `${st.dev}:${st.ino}`,
      },
    );
    store.close();
    t = h.start();
    await until("60 events", async () => (await h.onBus()).events.length >= 60);
    await pause(100);
    expect((await h.onBus()).events).toEqual([...lines(0, 20), ...lines(100, 140)]);
    await t.stop();
  });
});
