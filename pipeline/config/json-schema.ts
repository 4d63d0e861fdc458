/**
 * The config's JSON Schema, generated from the same zod schema that validates it, so editors (the YAML language
 * server) complete and check the files with the schema's own descriptions as hover text. It describes what a
 * user writes (zod's input side): "60s" or 60000 for a duration, defaults optional.
 */
import { z } from "zod";
import { configSchema } from "./schema.ts";

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12" });
  return {
    ...schema,
    title: "logbench config",
    description: "Configuration of the logbench daemon, CLI and notebooks (config/*.yaml).",
  };
}
