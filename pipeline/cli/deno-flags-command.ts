/** `logbench deno-flags --config FILE`: the Deno permission flags a daemon on this config needs, one line. */
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import { denoFlags, permissionsOf } from "../config/permissions.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, EXIT } from "./io.ts";

const HELP = `Usage: logbench deno-flags [--config FILE] [--json]

Prints the permission flags for running the daemon on this config under Deno, derived from the config:
network to the brokers, NameNode, InfluxDB, alert webhooks and the API address; reads of the code, the config,
the spool and tail paths and secret files; writes of the state folder and local bus, archive and series.

  deno run $(logbench deno-flags --config my.yaml) pipeline/cli/deno-entry.ts daemon --config my.yaml

  --json    print {net, read, write, ffi} instead of flags
`;

export async function denoFlagsCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, {
    config: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const file = values.config ?? defaultConfigPath;
  const permissions = permissionsOf(await loadConfig(file, io.env), file);
  io.stdout.write(values.json ? `${JSON.stringify(permissions, null, 2)}\n` : `${denoFlags(permissions).join(" ")}\n`);
  return EXIT.ok;
}
