/** What every source gets and gives. Adding a source = one file in sources/ plus one line in registry.ts. */
import type { Context } from "../../connectors/context.ts";
import type { Publisher } from "./publisher.ts";

export interface SourceRuntime {
  publisher: Publisher;
  stateDir: string;
  parse: { maxLineBytes: number; keepRaw: boolean };
  ctx: Context;
}

export interface Source {
  readonly name: string;
  /** Runs until the source is exhausted (replay) or ctx.signal aborts (spooldir); rejects on failure. */
  run(): Promise<void>;
}
