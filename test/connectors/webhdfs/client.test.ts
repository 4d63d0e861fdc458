/**
 * The WebHDFS client against a private test server with faults: RemoteException → LogbenchError
 * mapping, which failures are retried (and which must not be), timeouts, and the delegation token
 * staying out of every error and log line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../connectors/context.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import { WebHdfsClient, type WebHdfsClientOptions } from "../../../connectors/webhdfs/client.ts";
import { startWebHdfs, type WebHdfsTestServer } from "../../servers/webhdfs/server.ts";

let hdfs: WebHdfsTestServer;
beforeAll(async () => {
  hdfs = await startWebHdfs();
});
afterAll(async () => {
  await hdfs.close();
});
afterEach(() => {
  hdfs.faults.clear();
});

const enc = (s: string) => new TextEncoder().encode(s);
const client = (extra: Partial<WebHdfsClientOptions> = {}) =>
  new WebHdfsClient({ url: hdfs.url, user: "tester", retryBackoffMs: 1, ...extra });
const requestsSince = (n: number, op?: string, node?: string) =>
  hdfs.requests.slice(n).filter((r) => (!op || r.op === op) && (!node || r.node === node));

async function failure(promise: Promise<unknown>): Promise<LogbenchError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LogbenchError) return err;
    throw err;
  }
  throw new Error("expected a LogbenchError, the call succeeded");
}

describe("RemoteException mapping", () => {
  const cases: Array<[string | null, number, string, boolean]> = [
    ["FileNotFoundException", 404, "NOT_FOUND", false],
    ["FileAlreadyExistsException", 403, "ALREADY_EXISTS", false],
    ["AccessControlException", 403, "PERMISSION", false],
    ["SecurityException", 401, "PERMISSION", false],
    ["InvalidToken", 403, "PERMISSION", false],
    ["IllegalArgumentException", 400, "BAD_REQUEST", false],
    ["UnsupportedOperationException", 400, "BAD_REQUEST", false],
    ["PathIsNotEmptyDirectoryException", 403, "BAD_REQUEST", false],
    ["StandbyException", 403, "UNAVAILABLE", true],
    ["RetriableException", 403, "UNAVAILABLE", true],
    ["SafeModeException", 403, "UNAVAILABLE", true],
    ["AlreadyBeingCreatedException", 403, "CONFLICT", true],
    ["IOException", 403, "INTERNAL", false],
    ["RuntimeException", 500, "INTERNAL", false],
    [null, 503, "UNAVAILABLE", true],
    [null, 502, "UNAVAILABLE", true],
    [null, 429, "THROTTLED", true],
  ];
  it.each(cases)("%s (HTTP %i) → %s, retryable %s", async (exception, status, code, retryable) => {
    hdfs.faults.failNext({ op: "GETFILESTATUS", status, exception, message: "the server's words" });
    const err = await failure(client({ retries: 0 }).getFileStatus("/mapped"));
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(err.details).toMatchObject({ status });
    expect(err.message).toContain("getting the status of /mapped");
    expect(err.message).toContain("the server's words");
    if (exception) expect(err.message).toContain(exception);
  });

  it("maps what a real NameNode refuses: existing file, missing file, non-empty folder, bad path", async () => {
    const c = client();
    await c.create("/real/f.txt", enc("x"));
    expect((await failure(c.create("/real/f.txt", enc("y")))).code).toBe("ALREADY_EXISTS");
    expect((await failure(c.open("/real/missing"))).code).toBe("NOT_FOUND");
    expect((await failure(c.append("/real/missing", enc("x")))).code).toBe("NOT_FOUND");
    expect((await failure(c.listStatus("/real/missing"))).code).toBe("NOT_FOUND");
    expect((await failure(c.delete("/real"))).code).toBe("BAD_REQUEST");
    expect((await failure(c.create("/real/f.txt/under", enc("x")))).code).toBe("BAD_REQUEST");
    expect((await failure(c.rename("/real/f.txt", "relative"))).code).toBe("BAD_REQUEST");
  });

  it("maps refused authentication and permissions to PERMISSION", async () => {
    const strict = await startWebHdfs({ requireUser: true, enforcePermissions: true, user: "hdfs" });
    try {
      const anonymous = new WebHdfsClient({ url: strict.url, retries: 0 });
      const err = await failure(anonymous.mkdirs("/x"));
      expect([err.code, err.details?.exception]).toEqual(["PERMISSION", "SecurityException"]);
      await new WebHdfsClient({ url: strict.url, user: "hdfs" }).mkdirs("/owned");
      const denied = await failure(new WebHdfsClient({ url: strict.url, user: "bob" }).create("/owned/f", enc("x")));
      expect([denied.code, denied.details?.exception]).toEqual(["PERMISSION", "AccessControlException"]);
    } finally {
      await strict.close();
    }
  });
});

describe("retries", () => {
  it("retries a retryable failure with backoff and succeeds", async () => {
    await client().mkdirs("/retry");
    hdfs.faults.failNext({ op: "GETFILESTATUS", status: 403, exception: "StandbyException", times: 2 });
    const before = hdfs.requests.length;
    expect((await client({ retries: 3 }).getFileStatus("/retry")).type).toBe("DIRECTORY");
    expect(requestsSince(before, "GETFILESTATUS").map((r) => r.status)).toEqual([403, 403, 200]);
  });

  it("gives up after `retries` retries with the last error", async () => {
    hdfs.faults.failNext({ op: "LISTSTATUS", status: 503, exception: null, times: 10 });
    const before = hdfs.requests.length;
    const err = await failure(client({ retries: 2 }).listStatus("/"));
    expect(err.code).toBe("UNAVAILABLE");
    expect(requestsSince(before, "LISTSTATUS")).toHaveLength(3);
  });

  it("never retries a failure retrying cannot fix", async () => {
    hdfs.faults.failNext({ op: "MKDIRS", status: 403, exception: "AccessControlException", times: 5 });
    const before = hdfs.requests.length;
    expect((await failure(client({ retries: 5 }).mkdirs("/nope"))).code).toBe("PERMISSION");
    expect(requestsSince(before, "MKDIRS")).toHaveLength(1);
  });

  it("waits as long as Retry-After says", async () => {
    hdfs.faults.failNext({ op: "GETFILESTATUS", status: 503, exception: null, headers: { "Retry-After": "1" } });
    const t0 = Date.now();
    await client({ retries: 1 }).getFileStatus("/");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it("times out a request that gets no answer, retries it, and reports TIMEOUT", async () => {
    hdfs.faults.delay(500, { op: "GETFILESTATUS", times: 2 });
    const before = hdfs.requests.length;
    const err = await failure(client({ timeoutMs: 100, retries: 1 }).getFileStatus("/"));
    expect(err.code).toBe("TIMEOUT");
    expect(err.retryable).toBe(true);
    expect(requestsSince(before, "GETFILESTATUS")).toHaveLength(2);
  });

  it("re-sends a CREATE whose DataNode connection was reset", async () => {
    hdfs.faults.resetNext({ node: "datanode", op: "CREATE" });
    const before = hdfs.requests.length;
    await client().create("/retry/reset.bin", enc("payload"));
    expect(requestsSince(before, "CREATE", "datanode").map((r) => r.status)).toEqual(["reset", 201]);
    expect(new TextDecoder().decode(await client().open("/retry/reset.bin"))).toBe("payload");
  });

  it("treats a CREATE whose answer was lost as done when the file holds exactly its bytes", async () => {
    hdfs.faults.loseResponse({ node: "datanode", op: "CREATE" });
    await client().create("/retry/lost.bin", enc("exactly these bytes"));
    expect(new TextDecoder().decode(await client().open("/retry/lost.bin"))).toBe("exactly these bytes");
  });

  it("does not repeat an APPEND whose bytes may have reached the DataNode", async () => {
    const c = client();
    await c.create("/retry/log.txt", enc("a\n"));
    hdfs.faults.loseResponse({ node: "datanode", op: "APPEND" });
    const before = hdfs.requests.length;
    const err = await failure(c.append("/retry/log.txt", enc("b\n")));
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("outcome is unknown");
    expect(requestsSince(before, "APPEND", "datanode")).toHaveLength(1);
    // It was in fact appended once, never twice.
    expect(new TextDecoder().decode(await c.open("/retry/log.txt"))).toBe("a\nb\n");
  });

  it("repeats an APPEND refused at the NameNode step, where nothing was written", async () => {
    const c = client();
    await c.create("/retry/log2.txt", enc("a\n"));
    hdfs.faults.failNext({ node: "namenode", op: "APPEND", status: 403, exception: "RetriableException" });
    await c.append("/retry/log2.txt", enc("b\n"));
    expect(new TextDecoder().decode(await c.open("/retry/log2.txt"))).toBe("a\nb\n");
  });

  it("reports an unreachable DataNode as UNAVAILABLE after retrying reads", async () => {
    const c = client({ retries: 2 });
    await c.create("/retry/read.txt", enc("r"));
    hdfs.faults.dropDataNode();
    const before = hdfs.requests.length;
    const err = await failure(c.open("/retry/read.txt"));
    expect(err.code).toBe("UNAVAILABLE");
    expect(requestsSince(before, "OPEN", "namenode")).toHaveLength(3);
    hdfs.faults.restoreDataNode();
    expect(new TextDecoder().decode(await c.open("/retry/read.txt"))).toBe("r");
  });

  it("stops waiting between retries when the context is aborted", async () => {
    const abort = new AbortController();
    hdfs.faults.failNext({ op: "GETFILESTATUS", status: 503, exception: null, headers: { "Retry-After": "30" } });
    const pending = failure(client({ retries: 3, signal: abort.signal }).getFileStatus("/"));
    setTimeout(() => abort.abort(), 100);
    const t0 = Date.now();
    const err = await pending;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err.retryable).toBe(false);
  });
});

describe("delegation token secrecy", () => {
  const TOKEN = "HAAEaGRmcwAAAAAA/secret+token==";
  let secure: WebHdfsTestServer;
  const lines: string[] = [];
  beforeAll(async () => {
    secure = await startWebHdfs({ delegationTokens: { [TOKEN]: "svc" } });
  });
  afterAll(async () => {
    await secure.close();
  });
  const tokenClient = (extra: Partial<WebHdfsClientOptions> = {}) =>
    new WebHdfsClient({
      url: secure.url,
      delegationToken: TOKEN,
      retryBackoffMs: 1,
      retries: 1,
      logger: createLogger({ level: "debug", write: (l) => lines.push(l) }),
      ...extra,
    });

  /** Every text an operator could see from an error: message, stack, details, causes. */
  function everything(err: unknown): string {
    const parts: string[] = [];
    for (
      let e = err as { message?: string; stack?: string; details?: unknown; cause?: unknown } | undefined, depth = 0;
      e && depth < 10;
      e = e.cause as typeof e, depth++
    ) {
      parts.push(String(e.message), String(e.stack), JSON.stringify(e.details ?? null), String(e));
    }
    return parts.join("\n");
  }
  const leaks = (text: string) =>
    [TOKEN, encodeURIComponent(TOKEN), new URLSearchParams({ t: TOKEN }).toString().slice(2)].some((f) =>
      text.includes(f),
    );

  it("authenticates with the token: it travels in the query, to the DataNode too", async () => {
    const c = tokenClient();
    await c.create("/s/f.txt", enc("x"));
    expect((await c.getFileStatus("/s/f.txt")).owner).toBe("svc");
    const dn = secure.requests.filter((r) => r.node === "datanode").at(-1)!;
    expect(dn.query.delegation).toBe(TOKEN);
  });

  it("keeps the token out of errors the server words with it, timeouts, resets and logs", async () => {
    const c = tokenClient();
    secure.faults.failNext({
      op: "GETFILESTATUS",
      status: 403,
      exception: "InvalidToken",
      message: `token ${TOKEN} expired`,
    });
    const refused = await failure(c.getFileStatus("/s/f.txt"));
    expect(refused.code).toBe("PERMISSION");
    expect(refused.message).toContain("<redacted>");

    secure.faults.delay(300, { op: "LISTSTATUS", times: 2 });
    const timedOut = await failure(tokenClient({ timeoutMs: 50 }).listStatus("/s"));
    expect(timedOut.code).toBe("TIMEOUT");

    secure.faults.dropDataNode();
    const reset = await failure(c.open("/s/f.txt"));
    secure.faults.restoreDataNode();
    expect(reset.code).toBe("UNAVAILABLE");

    secure.faults.failNext({
      op: "MKDIRS",
      status: 502,
      exception: null,
      message: `bad gateway for ?delegation=${encodeURIComponent(TOKEN)}`,
    });
    const proxy = await failure(tokenClient({ retries: 0 }).mkdirs("/s/d"));

    for (const err of [refused, timedOut, reset, proxy]) expect(leaks(everything(err)), everything(err)).toBe(false);
    expect(lines.length).toBeGreaterThan(0);
    expect(leaks(lines.join("\n"))).toBe(false);
  });

  it("a wrong token is PERMISSION, not retried, and its text does not appear either", async () => {
    const wrong = "wrong-token-value-xyz";
    const before = secure.requests.length;
    const err = await failure(new WebHdfsClient({ url: secure.url, delegationToken: wrong }).getFileStatus("/"));
    expect(err.code).toBe("PERMISSION");
    expect(everything(err)).not.toContain(wrong);
    expect(secure.requests.length - before).toBe(1);
  });
});
