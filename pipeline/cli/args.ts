/** Shared option parsing for commands: node:util parseArgs, with usage errors as LogbenchError("USAGE"). */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { LogbenchError } from "../../connectors/errors.ts";

export function parseOptions<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new LogbenchError("USAGE", `${(err as Error).message} (see --help)`);
  }
}
