/**
 * A TypeScript test script in a child process that a test can SIGKILL: `node --import tsx SCRIPT ARGS` (not the tsx
 * binary, which runs the script in a grandchild out of the signal's reach). Its stdout comes as whole lines; a
 * failed exit adds a line `exit <code>: <stderr>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface TsxChild {
  process: ChildProcess;
  lines: string[];
  /** Resolves once it has exited and its output is read: its exit code, or null when a signal ended it. */
  exited: Promise<number | null>;
}

export function startTsxChild(script: string, args: string[]): TsxChild {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT });
  const lines: string[] = [];
  let stderr = "";
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      if (code !== 0 && code !== null) lines.push(`exit ${code}: ${stderr}`);
      resolve(code);
    }),
  );
  return { process: child, lines, exited };
}
