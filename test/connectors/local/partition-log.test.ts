/**
 * The partition log checksums a frame once per process: frames found valid (read, walked or written here) are in
 * its checked span, and a later read inside that span skips only their CRC. The bodies are corrupted on disk below
 * to see which reads checksum: a valid frame never changes, so corruption there is the one way to tell.
 */
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../../connectors/context.ts";
import { encodeFrames } from "../../../connectors/local/frame.ts";
import { PartitionLog, readChunk } from "../../../connectors/local/partition-log.ts";

// node:zlib's crc32 as it is, but every call counted: how many frames a read checksummed.
const crcCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:zlib", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:zlib")>();
  const crc32 = (data: Uint8Array, value?: number) => {
    crcCalls.count++;
    return real.crc32(data, value);
  };
  return { ...real, default: { ...real, crc32 }, crc32 };
});

const frames = (values: string[]) =>
  encodeFrames(values.map((v) => ({ key: "k", value: new TextEncoder().encode(v), timestamp: 1 })));
const text = (r: { value: Uint8Array }) => new TextDecoder().decode(r.value);

describe("partition log checked span", () => {
  let dir: string;
  let file: string;
  const makeLog = () =>
    new PartitionLog(file, join(dir, "append.lock"), {
      fsync: false,
      lockStaleMs: 10_000,
      lockTimeoutMs: 5_000,
      logger: silentLogger,
    });
  /** Flip the first byte of `needle` in the file (inside a frame's body: its CRC no longer matches). */
  async function corrupt(needle: string): Promise<void> {
    const bytes = await readFile(file);
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    bytes[at] = bytes[at]! ^ 0x20;
    await writeFile(file, bytes);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "logbench-plog-"));
    file = join(dir, "log");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("joins spans that meet, and keeps the newer of two apart", () => {
    const log = makeLog();
    log.noteChecked(100, 200);
    expect(log.checked).toEqual({ from: 100, to: 200 });
    log.noteChecked(200, 300);
    log.noteChecked(50, 120);
    expect(log.checked).toEqual({ from: 50, to: 300 });
    log.noteChecked(60, 60);
    log.noteChecked(10, 20);
    expect(log.checked).toEqual({ from: 50, to: 300 });
    log.noteChecked(400, 500);
    expect(log.checked).toEqual({ from: 400, to: 500 });
  });

  it("checksums a frame on its first read in a process, not on the next", async () => {
    await writeFile(file, frames(["alpha", "bravo", "charlie"]));
    const first = makeLog();
    const handle = await open(file, "r");
    try {
      crcCalls.count = 0;
      const read = await first.read(handle, 0, 1 << 20, 0);
      expect(read.records.map(text)).toEqual(["alpha", "bravo", "charlie"]);
      expect(crcCalls.count).toBe(3);
      expect(first.checked).toEqual({ from: 0, to: read.next });
      expect((await first.read(handle, 0, 1 << 20, 0)).records).toHaveLength(3);
      expect(crcCalls.count).toBe(3);
      await corrupt("bravo");
      // Read again in the same process: inside the checked span, the CRC is not computed again.
      expect((await first.read(handle, 0, 1 << 20, 0)).records.map(text)).toEqual(["alpha", "Bravo", "charlie"]);
      // Another process (a fresh log) checksums it, and stops at the frame that no longer matches.
      const fresh = await makeLog().read(handle, 0, 1 << 20, 0);
      expect(fresh.records.map(text)).toEqual(["alpha"]);
      expect(fresh.status).toBe("tail");
    } finally {
      await handle.close();
    }
  });

  it("checksums frames past the span, and a frame that runs past its end", async () => {
    const head = frames(["alpha"]);
    await writeFile(file, Buffer.concat([head, frames(["bravo", "charlie"])]));
    const handle = await open(file, "r");
    try {
      await corrupt("charlie");
      const log = makeLog();
      // Only the first frame is in the span: the second is checked, the third fails its CRC.
      log.noteChecked(0, head.length);
      const read = await log.read(handle, 0, 1 << 20, 0);
      expect(read.records.map(text)).toEqual(["alpha", "bravo"]);
      expect(read.status).toBe("tail");
      // A span that ends inside the third frame does not cover it.
      const cut = await readChunk(handle, 0, 1 << 20, true, Number.POSITIVE_INFINITY, 0, {
        from: 0,
        to: read.next + 1,
      });
      expect(cut.records.map(text)).toEqual(["alpha", "bravo"]);
      expect(cut.next).toBe(read.next);
    } finally {
      await handle.close();
    }
  });

  it("counts frames it appended, and frames another writer appended once walked, as checked", async () => {
    const writer = makeLog();
    await writer.append(frames(["alpha", "bravo"]));
    const high = await writer.high();
    expect(writer.checked).toEqual({ from: 0, to: high });
    await writer.close();
    // Another process appends; the first one's high watermark walks (and checks) the new frame, joining the span.
    const other = makeLog();
    await other.append(frames(["charlie"]));
    await other.close();
    const end = await writer.high();
    expect(end).toBeGreaterThan(high);
    expect(writer.checked).toEqual({ from: 0, to: end });
    await writer.close();
  });
});
