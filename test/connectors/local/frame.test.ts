/** The local log's frames: a string value frames as its UTF-8, and a changed body fails its CRC. (CRC-32 itself: file-log.test.ts.) */
import { describe, expect, it } from "vitest";
import { checkFrame, decodeFrame, encodeFrames } from "../../../connectors/local/frame.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("local log frames", () => {
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
      // The fields are read from the frame when asked for: JSON has them too.
      const json = JSON.parse(JSON.stringify(back));
      expect([json.key, json.timestamp, json.offset]).toEqual([r.key, r.timestamp, at]);
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
