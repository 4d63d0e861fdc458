/**
 * Serves the notebooks beside a running daemon (`logbench start`, `npm run notebooks`): fills Framework's npm
 * cache from node_modules (scripts/notebooks-cache.ts, so nothing is fetched from a CDN), then runs the
 * Observable Framework preview server as a child process with the daemon's config path in LOGBENCH_CONFIG,
 * which the data loaders read. Aborting the signal stops the server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { delimiter, join, resolve } from "node:path";
import type { Logger } from "../../connectors/context.ts";
import { LogbenchError } from "../../connectors/errors.ts";
import { defaultConfigPath, packageRoot } from "../config/load.ts";

export interface ServeNotebooksOptions {
  /** Listen port; 0 picks a free one; left out, Framework takes the first free port from 3000. */
  port?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** The daemon's config file (default config/local.yaml). */
  configPath?: string;
  /** The daemon's API base URL when it is not the one in the config (e.g. it listens on port 0). */
  apiUrl?: string;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  logger: Logger;
  /** How long to wait for the server to listen (default 60 s). */
  startTimeoutMs?: number;
}

export interface ServedNotebooks {
  /** Base URL of the preview server, e.g. http://127.0.0.1:3000/ */
  url: string;
  /** Settles when the server has stopped: resolves after an abort, rejects if it died on its own. */
  done: Promise<void>;
}

const FRAMEWORK_BIN = join(packageRoot, "node_modules", "@observablehq", "framework", "dist", "bin", "observable.js");
/** How long the preview server gets to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;
const ANSI = /\u001b\[[0-9;]*m|\u001b\]8;[^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

export async function serveNotebooks(opts: ServeNotebooksOptions): Promise<ServedNotebooks> {
  const host = opts.host ?? "127.0.0.1";
  const logger = opts.logger.child({ component: "notebooks" });
  const configPath = resolve(opts.configPath ?? defaultConfigPath);
  if (opts.signal.aborted) throw new LogbenchError("INTERNAL", "serving notebooks: aborted before start");

  const { fillNotebooksCache } = await import("./cache.ts");
  try {
    // Loader outputs cached by an earlier build may come from another config: drop them, the preview server
    // reruns each loader when a page first asks for its file.
    await fillNotebooksCache({ repoRoot: packageRoot, clearData: true, log: (line) => logger.debug(line) });
  } catch (err) {
    throw new LogbenchError("INTERNAL", `filling the notebooks' npm cache: ${(err as Error).message}`, { cause: err });
  }

  const port = opts.port === 0 ? await freePort(host) : opts.port;
  const args = [
    FRAMEWORK_BIN,
    "preview",
    "--host",
    host,
    "--no-open",
    ...(port === undefined ? [] : ["--port", String(port)]),
  ];
  const env: Record<string, string | undefined> = {
    ...opts.env,
    LOGBENCH_CONFIG: configPath,
    ...(opts.apiUrl ? { LOGBENCH_API_URL: opts.apiUrl } : {}),
    OBSERVABLE_TELEMETRY_DISABLE: "1",
    // Framework runs TypeScript data loaders with the `tsx` command.
    PATH: [join(packageRoot, "node_modules", ".bin"), opts.env.PATH ?? process.env.PATH ?? ""].join(delimiter),
    NO_COLOR: "1",
  };
  const child = spawn(process.execPath, args, { cwd: packageRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  // A preview server busy in a data loader may sit on SIGTERM; Ctrl-C must still stop it.
  const onAbort = () => {
    child.kill("SIGTERM");
    const force = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    force.unref();
    void exited.then(() => clearTimeout(force));
  };
  opts.signal.addEventListener("abort", onAbort, { once: true });

  const recent: string[] = [];
  const url = await new Promise<string>((found, fail) => {
    const timer = setTimeout(
      () => fail(new LogbenchError("TIMEOUT", `serving notebooks: the preview server did not start: ${tail(recent)}`)),
      opts.startTimeoutMs ?? 60_000,
    );
    lines(child, "stdout", (line) => {
      remember(recent, line);
      const m = /(https?:\/\/[^\s/]+:\d+\/)/.exec(line);
      if (m) {
        clearTimeout(timer);
        found(m[1]!);
      } else logger.debug(line);
    });
    lines(child, "stderr", (line) => {
      remember(recent, line);
      logger.warn(`Notebooks: ${line}`);
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      fail(
        new LogbenchError("INTERNAL", `serving notebooks: starting ${process.execPath}: ${err.message}`, {
          cause: err,
        }),
      );
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(
        new LogbenchError("INTERNAL", `serving notebooks: the preview server exited (code ${code}): ${tail(recent)}`),
      );
    });
  }).catch((err: unknown) => {
    child.kill("SIGTERM");
    opts.signal.removeEventListener("abort", onAbort);
    throw err;
  });
  logger.info("Notebooks are served.", { url, config: configPath });

  const done = exited.then((code) => {
    opts.signal.removeEventListener("abort", onAbort);
    if (opts.signal.aborted) return;
    throw new LogbenchError("UNAVAILABLE", `the notebooks preview server exited (code ${code}): ${tail(recent)}`);
  });
  return { url, done };
}

function lines(child: ChildProcess, stream: "stdout" | "stderr", onLine: (line: string) => void): void {
  let buffered = "";
  child[stream]?.setEncoding("utf8");
  child[stream]?.on("data", (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const part of parts) {
      const line = part.replace(ANSI, "").trim();
      if (line) onLine(line);
    }
  });
}

function remember(recent: string[], line: string): void {
  recent.push(line);
  if (recent.length > 5) recent.shift();
}

function tail(recent: string[]): string {
  return recent.length ? recent.join(" | ") : "no output";
}

/** A port nobody listens on right now (the preview server prints the port it was given, not the one it got). */
function freePort(host: string): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
