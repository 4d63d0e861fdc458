/** The one secret-file reader: what it returns, and that its errors name the field and never the content. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LogbenchError } from "../../connectors/errors.ts";
import { readSecret, secretFrom } from "../../connectors/secrets.ts";

const dir = mkdtempSync(join(tmpdir(), "logbench-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): LogbenchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof LogbenchError) return err;
    throw err;
  }
  throw new Error("expected a LogbenchError");
}

describe("readSecret", () => {
  it("returns the file's content without the surrounding whitespace", () => {
    writeFileSync(join(dir, "token"), "  t0ken-42\r\n");
    expect(readSecret(join(dir, "token"), "api.tokenFile")).toBe("t0ken-42");
  });

  it("fails CONFIG naming the field and file for a missing or empty file, never showing the content", () => {
    const missing = thrown(() => readSecret(join(dir, "nope"), "series.tokenFile"));
    expect(missing.code).toBe("CONFIG");
    expect(missing.message).toBe(`series.tokenFile: cannot read ${join(dir, "nope")} (ENOENT)`);
    writeFileSync(join(dir, "blank"), " \n");
    const empty = thrown(() => readSecret(join(dir, "blank"), "bus.sasl.passwordFile"));
    expect(empty.code).toBe("CONFIG");
    expect(empty.message).toBe(`bus.sasl.passwordFile: ${join(dir, "blank")} is empty`);
    const asDir = thrown(() => readSecret(dir, "archive.delegationTokenFile"));
    expect(asDir.message).toContain("archive.delegationTokenFile: cannot read");
  });
});

describe("secretFrom", () => {
  it("prefers the inline secret, then the file, else undefined", () => {
    writeFileSync(join(dir, "pw"), "from-file\n");
    expect(secretFrom("inline", join(dir, "pw"), "x")).toBe("inline");
    expect(secretFrom(undefined, join(dir, "pw"), "x")).toBe("from-file");
    expect(secretFrom(undefined, undefined, "x")).toBeUndefined();
  });
});
