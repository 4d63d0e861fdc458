// Entry point under Deno (`deno task daemon`): the same CLI as bin/logbench.js, without tsx.
import process from "node:process";
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
