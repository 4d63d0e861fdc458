/**
 * The WebHDFS test server checked against the Hadoop WebHDFS REST API reference with raw fetch
 * (apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md), independently of
 * our client: status codes, redirects, JSON shapes, RemoteException errors.
 */
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebHdfs, type WebHdfsTestServer } from "./server.ts";

let hdfs: WebHdfsTestServer;
beforeAll(async () => {
  hdfs = await startWebHdfs({ user: "hdfs" });
});
afterAll(async () => {
  await hdfs.close();
});

const url = (path: string, query: string) => `${hdfs.url}/webhdfs/v1${path}?user.name=alice&${query}`;
const call = (method: string, path: string, query: string, body?: string) =>
  fetch(url(path, query), { method, redirect: "manual", ...(body === undefined ? {} : { body }) });

/** Two-step write: the NameNode's 307, then the bytes to the DataNode Location. */
async function put(path: string, body: string, query = "") {
  const first = await call("PUT", path, `op=CREATE${query}`);
  expect(first.status).toBe(307);
  return fetch(first.headers.get("location")!, { method: "PUT", body, redirect: "manual" });
}

async function remote(res: Response) {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return ((await res.json()) as { RemoteException: Record<string, string> }).RemoteException;
}

function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(hdfs.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const FILE_STATUS_FIELDS = {
  accessTime: "number",
  blockSize: "number",
  childrenNum: "number",
  fileId: "number",
  group: "string",
  length: "number",
  modificationTime: "number",
  owner: "string",
  pathSuffix: "string",
  permission: "string",
  replication: "number",
  storagePolicy: "number",
  type: "string",
};

describe("CREATE", () => {
  it("redirects with 307 to the DataNode, then answers 201 Created with the file's webhdfs:// Location", async () => {
    const first = await call("PUT", "/create/one.txt", "op=CREATE&overwrite=false");
    expect(first.status).toBe(307);
    expect(first.headers.get("content-length")).toBe("0");
    const location = new URL(first.headers.get("location")!);
    expect(location.origin).toBe(hdfs.datanodeUrl);
    expect(location.pathname).toBe("/webhdfs/v1/create/one.txt");
    expect(location.searchParams.get("op")).toBe("CREATE");
    expect(location.searchParams.get("user.name")).toBe("alice");
    expect(location.searchParams.get("namenoderpcaddress")).toBe(new URL(hdfs.url).host);
    expect(location.searchParams.get("overwrite")).toBe("false");
    // Nothing exists until the data reaches the DataNode.
    expect((await call("GET", "/create/one.txt", "op=GETFILESTATUS")).status).toBe(404);

    const second = await fetch(location, { method: "PUT", body: "Hello, webhdfs user!", redirect: "manual" });
    expect(second.status).toBe(201);
    expect(second.headers.get("content-length")).toBe("0");
    expect(second.headers.get("location")).toBe(`webhdfs://${new URL(hdfs.url).host}/create/one.txt`);
    expect(await readFile(join(hdfs.root, "create", "one.txt"), "utf8")).toBe("Hello, webhdfs user!");
  });

  it("answers 200 with the Location in JSON when noredirect=true", async () => {
    const res = await call("PUT", "/create/noredirect.txt", "op=CREATE&noredirect=true");
    expect(res.status).toBe(200);
    const { Location } = (await res.json()) as { Location: string };
    expect(new URL(Location).origin).toBe(hdfs.datanodeUrl);
  });

  it("refuses an existing file without overwrite with 403 FileAlreadyExistsException, and replaces it with", async () => {
    expect((await put("/create/exists.txt", "v1")).status).toBe(201);
    const refused = await put("/create/exists.txt", "v2");
    expect(refused.status).toBe(403);
    expect(await remote(refused)).toEqual({
      exception: "FileAlreadyExistsException",
      javaClassName: "org.apache.hadoop.fs.FileAlreadyExistsException",
      message: expect.stringContaining("/create/exists.txt"),
    });
    expect(await readFile(join(hdfs.root, "create", "exists.txt"), "utf8")).toBe("v1");
    expect((await put("/create/exists.txt", "v3", "&overwrite=true")).status).toBe(201);
    expect(await readFile(join(hdfs.root, "create", "exists.txt"), "utf8")).toBe("v3");
  });

  it("refuses to create over a directory, and under a file (ParentNotDirectoryException)", async () => {
    await call("PUT", "/create/dir", "op=MKDIRS");
    const overDir = await put("/create/dir", "x", "&overwrite=true");
    expect(overDir.status).toBe(403);
    expect((await remote(overDir)).exception).toBe("FileAlreadyExistsException");
    await put("/create/plain", "x");
    const under = await put("/create/plain/child", "x");
    expect(under.status).toBe(403);
    expect((await remote(under)).exception).toBe("ParentNotDirectoryException");
  });

  it("applies the permission parameter, 644 by default, and rejects a bad one with 400", async () => {
    await put("/perm/default.txt", "x");
    await put("/perm/600.txt", "x", "&permission=600");
    const listed = (await (await call("GET", "/perm", "op=LISTSTATUS")).json()) as {
      FileStatuses: { FileStatus: Array<{ pathSuffix: string; permission: string; owner: string }> };
    };
    expect(listed.FileStatuses.FileStatus.map((s) => [s.pathSuffix, s.permission, s.owner])).toEqual([
      ["600.txt", "600", "alice"],
      ["default.txt", "644", "alice"],
    ]);
    const bad = await call("PUT", "/perm/bad.txt", "op=CREATE&permission=999");
    expect(bad.status).toBe(400);
    expect((await remote(bad)).exception).toBe("IllegalArgumentException");
  });
});

describe("APPEND and OPEN", () => {
  it("APPEND redirects with 307 and the DataNode answers 200 with no content", async () => {
    await put("/rw/log.txt", "one\n");
    const first = await call("POST", "/rw/log.txt", "op=APPEND");
    expect(first.status).toBe(307);
    const second = await fetch(first.headers.get("location")!, { method: "POST", body: "two\n" });
    expect(second.status).toBe(200);
    expect(await second.text()).toBe("");
    expect(await readFile(join(hdfs.root, "rw", "log.txt"), "utf8")).toBe("one\ntwo\n");
  });

  it("APPEND and OPEN of a missing file answer 404 FileNotFoundException at the NameNode", async () => {
    for (const [method, op] of [
      ["POST", "APPEND"],
      ["GET", "OPEN"],
    ] as const) {
      const res = await call(method, "/rw/missing.txt", `op=${op}`);
      expect(res.status).toBe(404);
      expect(await remote(res)).toEqual({
        exception: "FileNotFoundException",
        javaClassName: "java.io.FileNotFoundException",
        message: "File /rw/missing.txt not found.",
      });
    }
  });

  it("OPEN redirects to the DataNode, which sends application/octet-stream, honouring offset and length", async () => {
    await put("/rw/bytes.bin", "0123456789");
    const first = await call("GET", "/rw/bytes.bin", "op=OPEN&offset=2&length=5");
    expect(first.status).toBe(307);
    const second = await fetch(first.headers.get("location")!);
    expect(second.status).toBe(200);
    expect(second.headers.get("content-type")).toBe("application/octet-stream");
    expect(second.headers.get("content-length")).toBe("5");
    expect(await second.text()).toBe("23456");
    const whole = await fetch(url("/rw/bytes.bin", "op=OPEN"));
    expect(await whole.text()).toBe("0123456789");
    const beyond = await call("GET", "/rw/bytes.bin", "op=OPEN&offset=10");
    expect(beyond.status).toBe(403);
    expect((await remote(beyond)).exception).toBe("IOException");
  });

  it("OPEN of a directory is 404 'Path is not a file'", async () => {
    await call("PUT", "/rw/folder", "op=MKDIRS");
    const res = await fetch(url("/rw/folder", "op=OPEN"));
    expect(res.status).toBe(404);
    expect((await remote(res)).message).toBe("Path is not a file: /rw/folder");
  });

  it("the DataNode refuses a request without namenoderpcaddress", async () => {
    const res = await fetch(`${hdfs.datanodeUrl}/webhdfs/v1/rw/x?op=CREATE&user.name=alice`, {
      method: "PUT",
      body: "x",
    });
    expect(res.status).toBe(400);
    expect((await remote(res)).exception).toBe("IllegalArgumentException");
  });
});

describe("GETFILESTATUS and LISTSTATUS", () => {
  it("GETFILESTATUS answers a FileStatus object with every documented field", async () => {
    await put("/st/file.txt", "12345");
    const res = await call("GET", "/st/file.txt", "op=GETFILESTATUS");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const { FileStatus } = (await res.json()) as { FileStatus: Record<string, unknown> };
    for (const [field, type] of Object.entries(FILE_STATUS_FIELDS)) expect(typeof FileStatus[field], field).toBe(type);
    expect(FileStatus).toMatchObject({ length: 5, pathSuffix: "", type: "FILE", owner: "alice", permission: "644" });
    expect(FileStatus.blockSize).toBeGreaterThan(0);
    const dir = (
      (await (await call("GET", "/st", "op=GETFILESTATUS")).json()) as { FileStatus: Record<string, unknown> }
    ).FileStatus;
    expect(dir).toMatchObject({ type: "DIRECTORY", length: 0, permission: "755", childrenNum: 1, replication: 0 });
  });

  it("GETFILESTATUS of a missing path is 404 with the documented RemoteException", async () => {
    const res = await call("GET", "/st/nope", "op=GETFILESTATUS");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      RemoteException: {
        exception: "FileNotFoundException",
        javaClassName: "java.io.FileNotFoundException",
        message: "File does not exist: /st/nope",
      },
    });
  });

  it("LISTSTATUS answers FileStatuses.FileStatus[] sorted by name; on a file, the file itself", async () => {
    await put("/ls/b.txt", "bb");
    await put("/ls/a.txt", "a");
    await call("PUT", "/ls/c", "op=MKDIRS");
    const body = (await (await call("GET", "/ls", "op=LISTSTATUS")).json()) as {
      FileStatuses: { FileStatus: Array<Record<string, unknown>> };
    };
    expect(body.FileStatuses.FileStatus.map((s) => [s.pathSuffix, s.type, s.length])).toEqual([
      ["a.txt", "FILE", 1],
      ["b.txt", "FILE", 2],
      ["c", "DIRECTORY", 0],
    ]);
    const fileIds = body.FileStatuses.FileStatus.map((s) => s.fileId);
    expect(new Set(fileIds).size).toBe(3);
    const onFile = (await (await call("GET", "/ls/a.txt", "op=LISTSTATUS")).json()) as {
      FileStatuses: { FileStatus: Array<Record<string, unknown>> };
    };
    expect(onFile.FileStatuses.FileStatus).toHaveLength(1);
    expect(onFile.FileStatuses.FileStatus[0]).toMatchObject({ pathSuffix: "", type: "FILE", length: 1 });
    const missing = await call("GET", "/ls/none", "op=LISTSTATUS");
    expect(missing.status).toBe(404);
    expect((await remote(missing)).message).toBe("File /ls/none does not exist.");
  });
});

describe("MKDIRS, RENAME, DELETE", () => {
  it('MKDIRS answers {"boolean": true}, also for an existing directory; a file in the way is 403', async () => {
    const res = await call("PUT", "/mk/a/b/c", "op=MKDIRS");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ boolean: true });
    expect(await (await call("PUT", "/mk/a/b/c", "op=MKDIRS")).json()).toEqual({ boolean: true });
    await put("/mk/file", "x");
    const blocked = await call("PUT", "/mk/file", "op=MKDIRS");
    expect(blocked.status).toBe(403);
    expect((await remote(blocked)).exception).toBe("FileAlreadyExistsException");
  });

  it("RENAME follows FileSystem.rename: true when moved, false for a missing source, parent or a taken name", async () => {
    await put("/mv/src.txt", "data");
    await put("/mv/taken.txt", "other");
    const rename = async (from: string, to: string) =>
      (
        (await (await call("PUT", from, `op=RENAME&destination=${encodeURIComponent(to)}`)).json()) as {
          boolean: boolean;
        }
      ).boolean;
    expect(await rename("/mv/missing.txt", "/mv/x.txt")).toBe(false);
    expect(await rename("/mv/src.txt", "/mv/no-parent/x.txt")).toBe(false);
    expect(await rename("/mv/src.txt", "/mv/taken.txt")).toBe(false);
    expect(await readFile(join(hdfs.root, "mv", "taken.txt"), "utf8")).toBe("other");
    expect(await rename("/mv/src.txt", "/mv/moved.txt")).toBe(true);
    expect(await readFile(join(hdfs.root, "mv", "moved.txt"), "utf8")).toBe("data");
    // Onto an existing directory: moved inside it, as HDFS does.
    await call("PUT", "/mv/into", "op=MKDIRS");
    expect(await rename("/mv/moved.txt", "/mv/into")).toBe(true);
    expect(await readFile(join(hdfs.root, "mv", "into", "moved.txt"), "utf8")).toBe("data");
    // Into its own subtree: refused.
    expect(await rename("/mv/into", "/mv/into/deeper")).toBe(false);
  });

  it("RENAME without an absolute destination is 400 IllegalArgumentException", async () => {
    for (const q of ["op=RENAME", "op=RENAME&destination=relative/x"]) {
      const res = await call("PUT", "/mv/taken.txt", q);
      expect(res.status).toBe(400);
      expect((await remote(res)).exception).toBe("IllegalArgumentException");
    }
  });

  it('DELETE answers {"boolean"}; a non-empty directory needs recursive=true', async () => {
    await put("/rm/full/a.txt", "a");
    expect(await (await call("DELETE", "/rm/nothing", "op=DELETE")).json()).toEqual({ boolean: false });
    const refused = await call("DELETE", "/rm/full", "op=DELETE");
    expect(refused.status).toBe(403);
    expect(await remote(refused)).toMatchObject({
      exception: "PathIsNotEmptyDirectoryException",
      javaClassName: "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
    });
    expect(await (await call("DELETE", "/rm/full", "op=DELETE&recursive=true")).json()).toEqual({ boolean: true });
    expect((await call("GET", "/rm/full", "op=GETFILESTATUS")).status).toBe(404);
  });
});

describe("requests the spec refuses", () => {
  it("an unknown op, or an op sent with the wrong HTTP method, is 400 IllegalArgumentException", async () => {
    for (const [method, op] of [
      ["GET", "FROBNICATE"],
      ["GET", "CREATE"],
      ["PUT", "OPEN"],
    ]) {
      const res = await call(method!, "/", `op=${op}`);
      expect(res.status, `${method} ${op}`).toBe(400);
      expect((await remote(res)).message).toContain(`Op.${op}`);
    }
  });

  it("a documented op this server does not implement is 400 UnsupportedOperationException", async () => {
    const res = await call("GET", "/", "op=GETCONTENTSUMMARY");
    expect(res.status).toBe(400);
    expect((await remote(res)).exception).toBe("UnsupportedOperationException");
  });

  it("a path with '..' is 400 InvalidPathException and touches nothing outside the root", async () => {
    // fetch would resolve "..", so send the raw request line.
    for (const raw of ["/webhdfs/v1/a/../../etc?op=GETFILESTATUS", "/webhdfs/v1/a/%2F..%2F..%2Fetc?op=GETFILESTATUS"]) {
      const answer = await rawGet(raw);
      expect(answer.status, raw).toBe(400);
      expect(JSON.parse(answer.body).RemoteException.exception).toBe("InvalidPathException");
    }
  });

  it("parameter names are case-insensitive and ops too, as the NameNode's ParamFilter makes them", async () => {
    await put("/case/f.txt", "x");
    const res = await fetch(`${hdfs.url}/webhdfs/v1/case/f.txt?OP=getfilestatus&User.Name=alice`);
    expect(res.status).toBe(200);
  });
});

describe("authentication and permissions", () => {
  it("without user.name the request runs as the default web user dr.who", async () => {
    await fetch(`${hdfs.url}/webhdfs/v1/anon?op=MKDIRS`, { method: "PUT" });
    const st = (await (await fetch(`${hdfs.url}/webhdfs/v1/anon?op=GETFILESTATUS`)).json()) as {
      FileStatus: { owner: string };
    };
    expect(st.FileStatus.owner).toBe("dr.who");
  });

  it("requireUser: a request without user.name is 401 SecurityException", async () => {
    const strict = await startWebHdfs({ requireUser: true });
    try {
      const res = await fetch(`${strict.url}/webhdfs/v1/?op=GETFILESTATUS`);
      expect(res.status).toBe(401);
      expect((await remote(res)).exception).toBe("SecurityException");
      expect((await fetch(`${strict.url}/webhdfs/v1/?op=GETFILESTATUS&user.name=bob`)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it("delegation tokens: the token's user acts, the redirect carries the token, a bad token is 403 InvalidToken", async () => {
    const secure = await startWebHdfs({ delegationTokens: { "tok-123": "carol" } });
    try {
      const first = await fetch(`${secure.url}/webhdfs/v1/t.txt?op=CREATE&delegation=tok-123`, {
        method: "PUT",
        redirect: "manual",
      });
      expect(first.status).toBe(307);
      const location = new URL(first.headers.get("location")!);
      expect(location.searchParams.get("delegation")).toBe("tok-123");
      expect((await fetch(location, { method: "PUT", body: "x" })).status).toBe(201);
      const st = (await (await fetch(`${secure.url}/webhdfs/v1/t.txt?op=GETFILESTATUS&delegation=tok-123`)).json()) as {
        FileStatus: { owner: string };
      };
      expect(st.FileStatus.owner).toBe("carol");
      const bad = await fetch(`${secure.url}/webhdfs/v1/t.txt?op=GETFILESTATUS&delegation=forged`);
      expect(bad.status).toBe(403);
      expect(await remote(bad)).toMatchObject({
        exception: "InvalidToken",
        javaClassName: "org.apache.hadoop.security.token.SecretManager$InvalidToken",
      });
      expect((await fetch(`${secure.url}/webhdfs/v1/t.txt?op=GETFILESTATUS&user.name=carol`)).status).toBe(401);
    } finally {
      await secure.close();
    }
  });

  it("enforcePermissions: writing into another user's 755 directory is 403 AccessControlException", async () => {
    const guarded = await startWebHdfs({ user: "hdfs", enforcePermissions: true });
    try {
      await fetch(`${guarded.url}/webhdfs/v1/locked?op=MKDIRS&user.name=hdfs`, { method: "PUT" });
      const res = await fetch(`${guarded.url}/webhdfs/v1/locked/sub?op=MKDIRS&user.name=bob`, { method: "PUT" });
      expect(res.status).toBe(403);
      expect(await remote(res)).toMatchObject({
        exception: "AccessControlException",
        message: 'Permission denied: user=bob, access=WRITE, inode="/locked":hdfs:supergroup:drwxr-xr-x',
      });
      await fetch(`${guarded.url}/webhdfs/v1/locked?op=SETPERMISSION&permission=777&user.name=hdfs`, { method: "PUT" });
      const ok = await fetch(`${guarded.url}/webhdfs/v1/locked/sub?op=MKDIRS&user.name=bob`, { method: "PUT" });
      expect(await ok.json()).toEqual({ boolean: true });
    } finally {
      await guarded.close();
    }
  });
});

describe("fault injection and recording", () => {
  it("failNext answers the given status and exception once, then the server behaves again", async () => {
    hdfs.faults.failNext({
      op: "GETFILESTATUS",
      status: 403,
      exception: "StandbyException",
      message: "Operation category READ is not supported in state standby",
    });
    const failed = await call("GET", "/", "op=GETFILESTATUS");
    expect(failed.status).toBe(403);
    expect(await remote(failed)).toEqual({
      exception: "StandbyException",
      javaClassName: "org.apache.hadoop.ipc.StandbyException",
      message: "Operation category READ is not supported in state standby",
    });
    expect((await call("GET", "/", "op=GETFILESTATUS")).status).toBe(200);
  });

  it("a 503 without exception answers plain text, as a proxy in front of the NameNode would", async () => {
    hdfs.faults.failNext({ status: 503, headers: { "Retry-After": "1" } });
    const res = await call("GET", "/", "op=GETFILESTATUS");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("content-type")).toBe("text/plain");
  });

  it("dropDataNode resets DataNode connections until restored; the NameNode keeps answering", async () => {
    await put("/faults/f.txt", "x");
    hdfs.faults.dropDataNode();
    try {
      const first = await call("GET", "/faults/f.txt", "op=OPEN");
      expect(first.status).toBe(307);
      await expect(fetch(first.headers.get("location")!)).rejects.toThrow();
    } finally {
      hdfs.faults.restoreDataNode();
    }
    expect(await (await fetch(url("/faults/f.txt", "op=OPEN"))).text()).toBe("x");
  });

  it("delay holds answers; loseResponse performs the op and then drops the connection", async () => {
    hdfs.faults.delay(300, { op: "MKDIRS", times: 1 });
    const t0 = Date.now();
    await call("PUT", "/faults/slow", "op=MKDIRS");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    hdfs.faults.loseResponse({ op: "MKDIRS" });
    await expect(call("PUT", "/faults/lost", "op=MKDIRS")).rejects.toThrow();
    expect((await call("GET", "/faults/lost", "op=GETFILESTATUS")).status).toBe(200);
    expect(hdfs.faults.pending()).toBe(0);
  });

  it("records each request: node, op, decoded path, query and body size", async () => {
    const before = hdfs.requests.length;
    await put("/rec/with space=1.txt", "12345");
    const [nn, dn] = hdfs.requests.slice(before);
    expect(nn).toMatchObject({
      node: "namenode",
      method: "PUT",
      op: "CREATE",
      path: "/rec/with space=1.txt",
      bodyBytes: 0,
      status: 307,
    });
    expect(nn!.query["user.name"]).toBe("alice");
    expect(dn).toMatchObject({
      node: "datanode",
      op: "CREATE",
      path: "/rec/with space=1.txt",
      bodyBytes: 5,
      status: 201,
    });
  });

  it("files placed in the root folder by a test are visible, owned by the superuser", async () => {
    await writeFile(join(hdfs.root, "placed.txt"), "abc");
    const st = (await (await call("GET", "/placed.txt", "op=GETFILESTATUS")).json()) as {
      FileStatus: { length: number; owner: string };
    };
    expect(st.FileStatus).toMatchObject({ length: 3, owner: "hdfs" });
  });
});
