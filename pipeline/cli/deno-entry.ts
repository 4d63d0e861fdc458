// Entry point under Deno (`deno task daemon`): the same CLI as bin/logbench.js, without tsx. Deno's node:process
// does not deliver SIGTERM to process.on listeners, so signals come through Deno's own API here.
import process from "node:process";
import { main } from "./main.ts";

interface DenoSignals {
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  exit(code: number): never;
}
const deno = (globalThis as unknown as { Deno: DenoSignals }).Deno;
const controller = new AbortController();
deno.addSignalListener("SIGINT", () => controller.abort());
deno.addSignalListener("SIGTERM", () => controller.abort());
deno.exit(await main(process.argv.slice(2), { signal: controller.signal }));
