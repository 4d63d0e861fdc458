/** The local log's frames: the CRC is CRC-32 (IEEE) natively and in JS, and a string value frames as its UTF-8. */
import { describe, expect, it } from "vitest";
import { checkFrame, crc32, crc32js, decodeFrame, encodeFrames } from "../../../connectors/local/frame.ts";
import { mulberry32 } from "../../../pipeline/ingest/synth/prng.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("local log frames", () => {
  it("computes CRC-32 (IEEE): the check value of '123456789' is 0xCBF43926, natively and in JS", () => {
    // The "check" value of CRC-32/ISO-HDLC in the catalogue of parametrised CRC algorithms (reveng).
    expect(crc32(utf8("123456789"))).toBe(0xcbf43926);
    expect(crc32js(utf8("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("gives the same CRC natively and in JS over random slices", () => {
    const next = mulberry32(7);
    const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(next() * 256));
    for (let i = 0; i < 200; i++) {
      const start = Math.floor(next() * bytes.length);
      const end = start + Math.floor(next() * (bytes.length - start));
      expect(crc32(bytes, start, end)).toBe(crc32js(bytes, start, end));
    }
  });

  it("frames a string value as its UTF-8 bytes, and reads back key, value and timestamp", () => {
    const records = [
      { key: "host-ä", value: '{"path":"/ünïcode/✓"}', timestamp: 1_700_000_000_123 },
      { key: null, value: "", timestamp: 0 },
      { key: "", value: "𝄞 astral", timestamp: -1 },
    ];
    const asStrings = encodeFrames(records);
    const asBytes = encodeFrames(records.map((r) => ({ ...r, value: utf8(r.value) })));
    expect(Buffer.from(asStrings).equals(Buffer.from(asBytes))).toBe(true);
    let at = 0;
    for (const r of records) {
      const check = checkFrame(asStrings, at, asStrings.length);
      expect(check.kind).toBe("frame");
      const back = decodeFrame(asStrings, at);
      expect(back.key).toBe(r.key);
      expect(new TextDecoder().decode(back.value)).toBe(r.value);
      expect(back.timestamp).toBe(r.timestamp);
      at += (check as { length: number }).length;
    }
    expect(at).toBe(asStrings.length);
  });

  it("rejects a frame whose body was changed after its CRC was written", () => {
    const frame = encodeFrames([{ key: "k", value: "value", timestamp: 1 }]);
    frame[frame.length - 1] = frame[frame.length - 1]! ^ 1;
    expect(checkFrame(frame, 0, frame.length).kind).toBe("invalid");
  });
});
