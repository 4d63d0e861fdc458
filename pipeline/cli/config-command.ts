/**
 * `logbench config schema` prints the config's JSON Schema (editors complete and check YAML with it);
 * `logbench config check [--config FILE]` validates a config and prints it with every default filled in.
 */
import { stringify } from "yaml";
import { configJsonSchema } from "../config/json-schema.ts";
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, EXIT } from "./io.ts";

const HELP = `Usage: logbench config schema
       logbench config check [--config FILE]

  schema   Print the config's JSON Schema. config/logbench.schema.json is this output; YAML files that start
           with "# yaml-language-server: $schema=./logbench.schema.json" get completion, checks and hover
           text in editors that use the YAML language server (VS Code's YAML extension, Neovim, Helix…).
  check    Validate a config (default config/local.yaml) and print it with every default filled in.
           Exit 2 with the field and the reason when it is not valid. Secrets are printed as "***".
`;

export async function configCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    { config: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  const [what, ...rest] = positionals;
  if (values.help || !what) {
    (values.help ? io.stdout : io.stderr).write(HELP);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (rest.length > 0 || (what !== "schema" && what !== "check")) {
    io.stderr.write(`logbench config: unknown subcommand "${positionals.join(" ")}"\n\n${HELP}`);
    return EXIT.usage;
  }
  if (what === "schema") {
    io.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return EXIT.ok;
  }
  const config = await loadConfig(values.config ?? defaultConfigPath, io.env);
  io.stdout.write(stringify(config, hideSecrets));
  return EXIT.ok;
}

const SECRET_KEYS = new Set(["token", "password", "delegationToken"]);
/** Maps whose values may be secrets (an http-poll source's request headers carry API tokens). */
const SECRET_MAPS = new Set(["headers"]);

function hideSecrets(key: string, value: unknown): unknown {
  if (SECRET_KEYS.has(key) && value) return "***";
  if (SECRET_MAPS.has(key) && value && typeof value === "object")
    return Object.fromEntries(Object.keys(value).map((k) => [k, "***"]));
  return value;
}
