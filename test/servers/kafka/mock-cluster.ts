/**
 * Starts librdkafka's mock cluster (see launcher.c) as a child process. The launcher is compiled on
 * first use into node_modules/.cache/logbench/, keyed by a hash of its source, so an edit recompiles.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, "launcher.c");
const CACHE = join(HERE, "..", "..", "..", "node_modules", ".cache", "logbench");
const INSTALL_HINT = "apt-get install gcc librdkafka-dev";

export interface KafkaMock {
  /** host:port of every broker. */
  bootstrap: string[];
  /** Send one launcher command (see launcher.c); resolves with its answer, rejects on "error …". */
  command(line: string): Promise<string>;
  close(): Promise<void>;
}

export interface KafkaMockOptions {
  /** Broker count, ids 1..n (default 3). */
  brokers?: number;
  topics?: Array<{ name: string; partitions: number }>;
}

/** Compile (once per source version) and return the launcher's path. */
export async function buildKafkaLauncher(): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const binary = join(CACHE, `kafka-mock-${hash}`);
  if (existsSync(binary)) return binary;
  await mkdir(CACHE, { recursive: true });
  // Several vitest workers may compile at once: each writes its own temp file, the rename is atomic.
  const temp = `${binary}.${process.pid}.${Date.now()}.tmp`;
  try {
    await new Promise<void>((resolve, reject) => {
      execFile("gcc", ["-O2", "-o", temp, SOURCE, "-lrdkafka"], (err, _stdout, stderr) => {
        if (!err) return resolve();
        const missing =
          (err as NodeJS.ErrnoException).code === "ENOENT" ||
          /rdkafka(_mock)?\.h: No such file|cannot find -lrdkafka/.test(stderr);
        reject(
          new Error(
            missing
              ? `Kafka mock cluster unavailable: librdkafka headers or gcc missing, run \`${INSTALL_HINT}\``
              : `compiling ${SOURCE}: ${stderr.trim() || (err as Error).message}`,
          ),
        );
      });
    });
    await rename(temp, binary);
  } finally {
    await rm(temp, { force: true });
  }
  return binary;
}

export async function startKafkaMock(opts: KafkaMockOptions = {}): Promise<KafkaMock> {
  const binary = await buildKafkaLauncher();
  const args = [String(opts.brokers ?? 3), ...(opts.topics ?? []).map((t) => `${t.name}:${t.partitions}`)];
  const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });

  const lines = createInterface({ input: child.stdout });
  const waiting: Array<{ resolve(line: string): void; reject(err: Error): void }> = [];
  let exited: Error | null = null;
  lines.on("line", (line) => waiting.shift()?.resolve(line));
  const exitPromise = new Promise<void>((resolve) => {
    child.on("close", (code, signal) => {
      exited = new Error(`Kafka mock cluster exited (${signal ?? code}): ${stderr.trim() || "no output"}`);
      for (const w of waiting.splice(0)) w.reject(exited);
      resolve();
    });
    child.on("error", (err) => {
      exited = new Error(`starting Kafka mock cluster: ${err.message}`);
      for (const w of waiting.splice(0)) w.reject(exited);
      resolve();
    });
  });

  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      if (exited) return reject(exited);
      waiting.push({ resolve, reject });
    });

  let first: string;
  try {
    first = await withTimeout(nextLine(), 10_000, "waiting for the Kafka mock cluster's bootstrap line");
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const bootstrap = first.split(",").filter(Boolean);

  // Commands are answered in order, one line each; serialise them so answers match their questions.
  let chain: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<string> => {
    const run = async () => {
      if (/[\r\n]/.test(line.trim())) throw new Error("one command per call");
      const answer = nextLine();
      writeLine(child, `${line.trim()}\n`);
      const reply = await withTimeout(answer, 10_000, `waiting for the answer to "${line}"`);
      if (!reply.startsWith("ok")) throw new Error(`Kafka mock: ${line}: ${reply}`);
      return reply;
    };
    const result = chain.then(run, run);
    chain = result.catch(() => {});
    return result;
  };

  const close = async () => {
    if (!exited) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
  };

  return { bootstrap, command, close };
}

function writeLine(child: ChildProcessWithoutNullStreams, text: string) {
  child.stdin.write(text);
}

function withTimeout<T>(promise: Promise<T>, ms: number, doing: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${doing}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Send a command to the shared cluster of global.ts from a test worker: `kafkaControl(inject("kafkaControlUrl"), "topic t 3")`. */
export async function kafkaControl(url: string, line: string): Promise<string> {
  const res = await fetch(url, { method: "POST", body: line });
  const answer = await res.text();
  if (!res.ok) throw new Error(answer);
  return answer;
}
