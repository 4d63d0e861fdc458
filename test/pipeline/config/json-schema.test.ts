/**
 * The config's JSON Schema, as editors use it: checked with an independent JSON Schema validator (ajv), not with
 * the zod schema it was generated from, against the shipped YAML files and a misspelled one.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "../../../pipeline/cli/main.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";

const root = join(import.meta.dirname, "../../..");
const shipped = readdirSync(join(root, "config")).filter((f) => f.endsWith(".yaml"));

async function printedSchema(): Promise<string> {
  let out = "";
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      out += String(chunk);
      done();
    },
  });
  const code = await main(["config", "schema"], { stdout, stderr: stdout, signal: new AbortController().signal });
  expect(code).toBe(0);
  return out;
}

describe("logbench config schema", () => {
  it("is what config/logbench.schema.json holds (regenerate: logbench config schema > config/logbench.schema.json)", async () => {
    // Compared as JSON: the formatter may lay the file out differently from JSON.stringify.
    expect(JSON.parse(await printedSchema())).toEqual(
      JSON.parse(readFileSync(join(root, "config/logbench.schema.json"), "utf8")),
    );
  });

  const validate = new Ajv2020({ strict: false, allErrors: true, logger: false }).compile(
    JSON.parse(readFileSync(join(root, "config/logbench.schema.json"), "utf8")),
  );

  it.each(shipped)("accepts the shipped %s, which names the schema on its first line", (file) => {
    const text = readFileSync(join(root, "config", file), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./logbench.schema.json");
    const ok = validate(parse(text));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("rejects a misspelled key, as the loader does", () => {
    const raw = parse(readFileSync(join(root, "config/local.yaml"), "utf8"));
    raw.aggregator = { ...raw.aggregator, windw: "60s" };
    expect(validate(raw)).toBe(false);
    expect(
      validate.errors?.some((e) => e.keyword === "additionalProperties" && e.params.additionalProperty === "windw"),
    ).toBe(true);
    expect(() => parseConfig(raw)).toThrow(/aggregator: Unrecognized key: "windw"/);
  });

  it("rejects a duration that is not spelled like one, and accepts the ways a user writes one", () => {
    const withWindow = (window: unknown) => ({ aggregator: { window } });
    expect(validate(withWindow("5 minutes"))).toBe(false);
    for (const ok of ["5m", "60s", "250ms", 60000]) expect(validate(withWindow(ok))).toBe(true);
  });

  it("carries the schema's descriptions as hover text", async () => {
    const schema = JSON.parse(await printedSchema());
    expect(schema.properties.aggregator.properties.lateness.description).toBe(
      "How late an event may be and still update its window",
    );
    const kinds = schema.properties.sources.items.oneOf.map(
      (s: { properties: { type: { const: string } } }) => s.properties.type.const,
    );
    expect(kinds).toEqual(expect.arrayContaining(["spooldir", "replay"]));
  });
});
