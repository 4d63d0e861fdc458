/**
 * A WebHDFS server for tests, faithful to the Hadoop WebHDFS REST API reference
 * (apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md): a NameNode port that
 * answers metadata operations and redirects CREATE/APPEND/OPEN with 307 to a DataNode port, which
 * moves the bytes. Backed by a local folder; see namespace.ts for the HDFS semantics, faults.ts for
 * fault injection. Loopback only, random ports.
 */
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultInjector, type WebHdfsNode } from "./faults.ts";
import { HdfsException, HdfsNamespace, normalizeHdfsPath, parentOf } from "./namespace.ts";
import {
  boolParam,
  encodePath,
  failure,
  hdfsPath,
  json,
  longParam,
  permissionParam,
  type Reply,
  remote,
} from "./replies.ts";

export { type FailSpec, FaultInjector, type FaultMatch, type WebHdfsNode } from "./faults.ts";

export interface WebHdfsServerOptions {
  /** Folder backing the namespace; a fresh temp folder (removed on close) by default. */
  root?: string;
  /** The HDFS superuser, owner of "/" (default "hdfs"). */
  user?: string;
  /** Simple auth without anonymous access: a request with no user.name gets 401 SecurityException. */
  requireUser?: boolean;
  /** Security on: only these delegation tokens (token → user) authenticate; user.name alone gets 401. */
  delegationTokens?: Record<string, string>;
  /** Check owner/other permission bits on writes and reads (the superuser passes). */
  enforcePermissions?: boolean;
}

export interface RecordedRequest {
  node: WebHdfsNode;
  method: string;
  /** Upper-cased op, or null when absent. */
  op: string | null;
  /** Decoded HDFS path after /webhdfs/v1. */
  path: string;
  /** Query parameters, names lower-cased (a test server: tokens are kept). */
  query: Record<string, string>;
  /** Bytes received in the request body. */
  bodyBytes: number;
  /** Status answered, or how the connection ended without an answer. */
  status: number | "reset" | "lost";
}

export interface WebHdfsTestServer {
  /** NameNode base URL, e.g. http://127.0.0.1:34567 */
  url: string;
  datanodeUrl: string;
  /** Local folder holding the namespace ("/" of HDFS). */
  root: string;
  faults: FaultInjector;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const PREFIX = "/webhdfs/v1";
const DEFAULT_WEB_USER = "dr.who";
const OPS: Record<string, readonly string[]> = {
  GET: "OPEN GETFILESTATUS LISTSTATUS LISTSTATUS_BATCH GETCONTENTSUMMARY GETQUOTAUSAGE GETFILECHECKSUM GETHOMEDIRECTORY GETDELEGATIONTOKEN GETTRASHROOT GETXATTRS LISTXATTRS CHECKACCESS GETALLSTORAGEPOLICY GETSTORAGEPOLICY GETSNAPSHOTDIFF GETSNAPSHOTDIFFLISTING GETSNAPSHOTTABLEDIRECTORYLIST GETSNAPSHOTLIST GETFILEBLOCKLOCATIONS GETECPOLICY GETSERVERDEFAULTS GETLINKTARGET GETFILELINKSTATUS GETSTATUS GETECPOLICIES GETACLSTATUS".split(
    " ",
  ),
  PUT: "CREATE MKDIRS CREATESYMLINK RENAME SETREPLICATION SETOWNER SETPERMISSION SETTIMES RENEWDELEGATIONTOKEN CANCELDELEGATIONTOKEN ALLOWSNAPSHOT DISALLOWSNAPSHOT CREATESNAPSHOT RENAMESNAPSHOT SETXATTR REMOVEXATTR SETSTORAGEPOLICY SATISFYSTORAGEPOLICY ENABLEECPOLICY DISABLEECPOLICY SETECPOLICY MODIFYACLENTRIES REMOVEACLENTRIES REMOVEDEFAULTACL REMOVEACL SETACL SETQUOTA SETQUOTABYSTORAGETYPE".split(
    " ",
  ),
  POST: "APPEND CONCAT TRUNCATE UNSETSTORAGEPOLICY UNSETECPOLICY".split(" "),
  DELETE: "DELETE DELETESNAPSHOT".split(" "),
};
const OP_CLASS: Record<string, string> = {
  GET: "GetOpParam",
  PUT: "PutOpParam",
  POST: "PostOpParam",
  DELETE: "DeleteOpParam",
};

export async function startWebHdfs(opts: WebHdfsServerOptions = {}): Promise<WebHdfsTestServer> {
  const ownsRoot = opts.root === undefined;
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), "logbench-webhdfs-")));
  await mkdir(root, { recursive: true });
  const superuser = opts.user ?? "hdfs";
  const ns = new HdfsNamespace(root, superuser, opts.enforcePermissions ?? false);
  const tokens = opts.delegationTokens ? new Map(Object.entries(opts.delegationTokens)) : null;
  const requests: RecordedRequest[] = [];
  const sockets: Record<WebHdfsNode, Set<Socket>> = { namenode: new Set(), datanode: new Set() };
  const faults = new FaultInjector(() => {
    for (const s of sockets.datanode) s.destroy();
  });
  let nnAddress = "";
  let dnBase = "";

  function authenticate(q: Record<string, string>): string {
    const token = q.delegation;
    if (tokens) {
      if (token === undefined) {
        throw new HdfsException("SecurityException", "Failed to obtain user group information: no delegation token");
      }
      const user = tokens.get(token);
      if (!user) throw new HdfsException("InvalidToken", "token can't be found in cache");
      return user;
    }
    const user = q["user.name"];
    if (user !== undefined) {
      if (!/^[A-Za-z_][A-Za-z0-9._-]*[$]?$/.test(user)) {
        throw new HdfsException(
          "IllegalArgumentException",
          `Invalid value for webhdfs parameter "user.name": Invalid value: "${user}"`,
        );
      }
      return user;
    }
    if (opts.requireUser) {
      throw new HdfsException(
        "SecurityException",
        "Failed to obtain user group information: no user.name in the request",
      );
    }
    return DEFAULT_WEB_USER;
  }

  async function nameNode(
    method: string,
    op: string,
    path: string,
    q: Record<string, string>,
    user: string,
  ): Promise<Reply> {
    switch (`${method} ${op}`) {
      case "PUT CREATE":
      case "POST APPEND":
      case "GET OPEN": {
        if (op === "CREATE") {
          permissionParam(q.permission, 0o644);
          boolParam(q, "overwrite");
        } else {
          const st = await ns.stat(path);
          if (!st) throw new HdfsException("FileNotFoundException", `File ${path} not found.`);
          const offset = longParam(q, "offset", 0);
          longParam(q, "length", -1);
          if (op === "OPEN" && st.isFile() && offset >= st.size && st.size > 0) {
            throw new HdfsException(
              "IOException",
              `Offset=${offset} out of the range [0, ${st.size}); OPEN, path=${path}`,
            );
          }
        }
        const location = redirect(op, path, q);
        if (boolParam(q, "noredirect")) return json(200, { Location: location });
        return { status: 307, headers: { Location: location, "Content-Type": "application/octet-stream" } };
      }
      case "GET GETFILESTATUS": {
        const status = await ns.status(path, "");
        if (!status) throw new HdfsException("FileNotFoundException", `File does not exist: ${path}`);
        return json(200, { FileStatus: status });
      }
      case "GET LISTSTATUS": {
        const st = await ns.stat(path);
        if (st?.isDirectory()) ns.checkAccess(user, path, 0o5, "READ_EXECUTE");
        return json(200, { FileStatuses: { FileStatus: await ns.list(path) } });
      }
      case "GET GETHOMEDIRECTORY":
        return json(200, { Path: `/user/${user}` });
      case "PUT MKDIRS":
        return json(200, { boolean: await ns.mkdirs(path, user, permissionParam(q.permission, 0o755)) });
      case "PUT RENAME": {
        const dest = q.destination;
        if (!dest)
          throw new HdfsException(
            "IllegalArgumentException",
            "Required param destination for op: RENAME is null or empty",
          );
        if (!dest.startsWith("/")) {
          throw new HdfsException(
            "IllegalArgumentException",
            `Invalid value for webhdfs parameter "destination": Invalid parameter value: destination = "${dest}" is not an absolute path.`,
          );
        }
        return json(200, { boolean: await ns.rename(path, normalizeHdfsPath(dest), user) });
      }
      case "DELETE DELETE":
        return json(200, { boolean: await ns.delete(path, boolParam(q, "recursive"), user) });
      case "PUT SETPERMISSION":
        await ns.setAttributes(path, user, { permission: permissionParam(q.permission, 0o755) });
        return { status: 200 };
      case "PUT SETOWNER":
        if (q.owner && user !== superuser && opts.enforcePermissions) {
          throw new HdfsException(
            "AccessControlException",
            `User ${user} is not a super user (non-super user cannot change owner).`,
          );
        }
        await ns.setAttributes(path, user, { owner: q.owner, group: q.group });
        return { status: 200 };
    }
    if (!op) throw new HdfsException("UnsupportedOperationException", "NULL is not supported");
    if (!OPS[method]?.includes(op)) {
      throw new HdfsException(
        "IllegalArgumentException",
        `Invalid value for webhdfs parameter "op": No enum constant org.apache.hadoop.hdfs.web.resources.${OP_CLASS[method] ?? "HttpOpParam"}.Op.${op}`,
      );
    }
    throw new HdfsException(
      "UnsupportedOperationException",
      `${op} is not supported by the logbench WebHDFS test server`,
    );
  }

  /** The DataNode URL for step 2: op, then the credential, then namenoderpcaddress and the other parameters sorted. */
  function redirect(op: string, path: string, q: Record<string, string>): string {
    const params = new URLSearchParams({ op });
    if (q.delegation !== undefined) params.set("delegation", q.delegation);
    else if (q["user.name"] !== undefined) params.set("user.name", q["user.name"]);
    params.set("namenoderpcaddress", nnAddress);
    for (const key of Object.keys(q).sort()) {
      if (!["op", "delegation", "user.name", "noredirect", "namenoderpcaddress"].includes(key))
        params.set(key, q[key]!);
    }
    return `${dnBase}${PREFIX}${encodePath(path)}?${params}`;
  }

  async function dataNode(
    method: string,
    op: string,
    path: string,
    q: Record<string, string>,
    user: string,
    req: IncomingMessage,
    rec: RecordedRequest,
  ): Promise<Reply> {
    if (!q.namenoderpcaddress)
      throw new HdfsException("IllegalArgumentException", "namenoderpcaddress is not specified.");
    const st = await ns.stat(path);
    if (method === "PUT" && op === "CREATE") {
      const overwrite = boolParam(q, "overwrite");
      const permission = permissionParam(q.permission, 0o644);
      if (st?.isDirectory())
        throw new HdfsException("FileAlreadyExistsException", `${path} already exists as a directory`);
      if (st && !overwrite)
        throw new HdfsException("FileAlreadyExistsException", `${path} for client 127.0.0.1 already exists`);
      const ancestor = await ns.existingAncestor(path);
      const parent = parentOf(path);
      if (ancestor !== parent && q.createparent?.toLowerCase() === "false") {
        throw new HdfsException("FileNotFoundException", `Parent directory doesn't exist: ${parent}`);
      }
      ns.checkAccess(user, ancestor, 0o3, "WRITE");
      await mkdir(ns.local(parent), { recursive: true });
      for (let p = parent; p !== ancestor; p = parentOf(p)) ns.born(p, user, 0o755);
      ns.born(path, user, permission);
      await receive(req, rec, ns.local(path), "w");
      return { status: 201, headers: { Location: `webhdfs://${nnAddress}${encodePath(path)}`, "Content-Length": "0" } };
    }
    if (method === "POST" && op === "APPEND") {
      if (!st)
        throw new HdfsException(
          "FileNotFoundException",
          `Failed to append to non-existent file ${path} for client 127.0.0.1`,
        );
      if (st.isDirectory()) {
        throw new HdfsException(
          "FileAlreadyExistsException",
          `Cannot append to directory ${path}; already exists as a directory.`,
        );
      }
      ns.checkAccess(user, path, 0o2, "WRITE", false);
      await receive(req, rec, ns.local(path), "a");
      return { status: 200, headers: { "Content-Length": "0" } };
    }
    if (method === "GET" && op === "OPEN") {
      if (!st) throw new HdfsException("FileNotFoundException", `File does not exist: ${path}`);
      if (st.isDirectory()) throw new HdfsException("FileNotFoundException", `Path is not a file: ${path}`);
      ns.checkAccess(user, path, 0o4, "READ", false);
      const offset = Math.min(longParam(q, "offset", 0), st.size);
      const wanted = longParam(q, "length", -1);
      const length = wanted < 0 ? st.size - offset : Math.min(wanted, st.size - offset);
      const body = Buffer.alloc(length);
      const fh = await open(ns.local(path), "r");
      try {
        await fh.read(body, 0, length, offset);
      } finally {
        await fh.close();
      }
      return { status: 200, headers: { "Content-Type": "application/octet-stream" }, body };
    }
    throw new HdfsException("IllegalArgumentException", `Invalid operation ${op}`);
  }

  async function handle(node: WebHdfsNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    // Split by hand: the WHATWG URL parser would resolve ".." segments the server must refuse.
    const raw = req.url ?? "/";
    const cut = raw.indexOf("?");
    const pathname = cut < 0 ? raw : raw.slice(0, cut);
    const q: Record<string, string> = {};
    // The NameNode's ParamFilter lower-cases parameter names; the first value wins.
    for (const [k, v] of new URLSearchParams(cut < 0 ? "" : raw.slice(cut + 1))) {
      if (!(k.toLowerCase() in q)) q[k.toLowerCase()] = v;
    }
    const op = q.op ? q.op.toUpperCase() : null;
    const rec: RecordedRequest = { node, method, op, path: pathname, query: q, bodyBytes: 0, status: 0 };
    requests.push(rec);
    if (node === "datanode" && faults.dataNodeDropped) return void req.socket.destroy();
    const { delayMs, action } = faults.take(node, method, op);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (action?.kind === "reset") {
      rec.status = "reset";
      return void req.socket.destroy();
    }
    let reply: Reply;
    try {
      const underPrefix = pathname === PREFIX || pathname.startsWith(`${PREFIX}/`);
      if (underPrefix) rec.path = hdfsPath(pathname.slice(PREFIX.length));
      if (!underPrefix) {
        reply = { status: 404, headers: { "Content-Type": "text/plain" }, body: Buffer.from("Not found\n") };
      } else if (action?.kind === "fail") {
        reply = failure(action.spec);
      } else {
        const user = authenticate(q);
        reply =
          node === "namenode"
            ? await nameNode(method, op ?? "", rec.path, q, user)
            : await dataNode(method, op ?? "", rec.path, q, user, req, rec);
      }
    } catch (err) {
      reply =
        err instanceof HdfsException
          ? remote(err.status, err.exception, err.message)
          : remote(500, "RuntimeException", String(err));
      if (node === "namenode" && err instanceof HdfsException && err.exception === "SecurityException" && tokens) {
        reply.headers = { ...reply.headers, "WWW-Authenticate": "Negotiate" };
      }
    }
    // Drain what the client sent (the NameNode step gets no data from a well-behaved client).
    try {
      for await (const chunk of req) rec.bodyBytes += (chunk as Buffer).length;
    } catch {
      rec.status = "reset";
      return;
    }
    if (action?.kind === "lose") {
      rec.status = "lost";
      return void req.socket.destroy();
    }
    rec.status = reply.status;
    const body = reply.body ?? Buffer.alloc(0);
    res.writeHead(reply.status, { "Content-Length": String(body.length), ...reply.headers });
    res.end(body);
  }

  function listen(node: WebHdfsNode): Promise<Server> {
    const server = createServer((req, res) => {
      handle(node, req, res).catch(() => req.socket.destroy());
    });
    server.on("connection", (socket) => {
      if (node === "datanode" && faults.dataNodeDropped) return void socket.destroy();
      sockets[node].add(socket);
      socket.on("close", () => sockets[node].delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
  }

  const nn = await listen("namenode");
  const dn = await listen("datanode");
  nnAddress = `127.0.0.1:${(nn.address() as AddressInfo).port}`;
  dnBase = `http://127.0.0.1:${(dn.address() as AddressInfo).port}`;

  return {
    url: `http://${nnAddress}`,
    datanodeUrl: dnBase,
    root,
    faults,
    requests,
    async close() {
      for (const server of [nn, dn]) {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

async function receive(req: IncomingMessage, rec: RecordedRequest, file: string, flags: "w" | "a"): Promise<void> {
  const fh = await open(file, flags);
  try {
    for await (const chunk of req) {
      rec.bodyBytes += (chunk as Buffer).length;
      await fh.write(chunk as Buffer);
    }
  } finally {
    await fh.close();
  }
}
