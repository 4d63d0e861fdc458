/**
 * The HDFS namespace behind the WebHDFS test server: HDFS semantics (FileSystem.rename/delete/mkdirs
 * as the NameNode implements them) on top of a local folder, with the inode attributes a folder does
 * not keep (owner, group, permission, fileId) held in memory.
 *
 * Reference: apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md
 * (FileStatus JSON schema, Error Responses) and the NameNode's FSDirRenameOp / FSDirDeleteOp behaviour.
 */
import type { Stats } from "node:fs";
import { lstat, mkdir, readdir, rename, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";

/** Exceptions the server can answer with, their Java class and their HTTP status (WebHDFS.md "HTTP Response Codes"). */
export const EXCEPTIONS: Record<string, { javaClassName: string; status: number }> = {
  IllegalArgumentException: { javaClassName: "java.lang.IllegalArgumentException", status: 400 },
  UnsupportedOperationException: { javaClassName: "java.lang.UnsupportedOperationException", status: 400 },
  InvalidPathException: { javaClassName: "org.apache.hadoop.fs.InvalidPathException", status: 400 },
  SecurityException: { javaClassName: "java.lang.SecurityException", status: 401 },
  AccessControlException: { javaClassName: "org.apache.hadoop.security.AccessControlException", status: 403 },
  InvalidToken: { javaClassName: "org.apache.hadoop.security.token.SecretManager$InvalidToken", status: 403 },
  FileAlreadyExistsException: { javaClassName: "org.apache.hadoop.fs.FileAlreadyExistsException", status: 403 },
  ParentNotDirectoryException: { javaClassName: "org.apache.hadoop.fs.ParentNotDirectoryException", status: 403 },
  PathIsNotEmptyDirectoryException: {
    javaClassName: "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
    status: 403,
  },
  StandbyException: { javaClassName: "org.apache.hadoop.ipc.StandbyException", status: 403 },
  RetriableException: { javaClassName: "org.apache.hadoop.ipc.RetriableException", status: 403 },
  SafeModeException: { javaClassName: "org.apache.hadoop.hdfs.server.namenode.SafeModeException", status: 403 },
  AlreadyBeingCreatedException: {
    javaClassName: "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
    status: 403,
  },
  IOException: { javaClassName: "java.io.IOException", status: 403 },
  FileNotFoundException: { javaClassName: "java.io.FileNotFoundException", status: 404 },
  RuntimeException: { javaClassName: "java.lang.RuntimeException", status: 500 },
};

/** A Java-side exception, turned into a RemoteException JSON answer by the server. */
export class HdfsException extends Error {
  constructor(
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return EXCEPTIONS[this.exception]?.status ?? 500;
  }
}

/** FileStatus properties as in WebHDFS.md "FileStatus Properties" (plus childrenNum, fileId, storagePolicy). */
export interface FileStatusJson {
  accessTime: number;
  blockSize: number;
  childrenNum: number;
  fileId: number;
  group: string;
  length: number;
  modificationTime: number;
  owner: string;
  pathSuffix: string;
  permission: string;
  replication: number;
  storagePolicy: number;
  type: "FILE" | "DIRECTORY";
}

interface Inode {
  fileId: number;
  owner: string;
  group: string;
  permission: number;
}

export const DEFAULT_BLOCK_SIZE = 134_217_728;
const ROOT_FILE_ID = 16385;

/** Validates and normalises an HDFS path ("/a//b/" → "/a/b"), as DFSUtil.isValidName does. */
export function normalizeHdfsPath(raw: string): string {
  if (!raw.startsWith("/")) throw new HdfsException("InvalidPathException", `Invalid path name ${raw}`);
  const parts = raw.split("/").filter((p) => p !== "");
  for (const p of parts) {
    if (p === "." || p === ".." || p.includes(":") || p.includes("\0")) {
      throw new HdfsException("InvalidPathException", `Invalid path name Invalid file name: ${raw}`);
    }
  }
  return `/${parts.join("/")}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function isUnder(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" : path === dir || path.startsWith(`${dir}/`);
}

export class HdfsNamespace {
  private readonly inodes = new Map<string, Inode>();
  private nextFileId = ROOT_FILE_ID + 1;

  constructor(
    readonly root: string,
    readonly superuser: string,
    readonly enforcePermissions: boolean,
  ) {
    this.inodes.set("/", { fileId: ROOT_FILE_ID, owner: superuser, group: "supergroup", permission: 0o755 });
  }

  local(path: string): string {
    return path === "/" ? this.root : join(this.root, ...path.slice(1).split("/"));
  }

  async stat(path: string): Promise<Stats | null> {
    try {
      return await lstat(this.local(path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw err;
    }
  }

  /** Inode attributes; files dropped into the folder by hand belong to the superuser. */
  inode(path: string, isDir: boolean): Inode {
    let inode = this.inodes.get(path);
    if (!inode) {
      inode = {
        fileId: this.nextFileId++,
        owner: this.superuser,
        group: "supergroup",
        permission: isDir ? 0o755 : 0o644,
      };
      this.inodes.set(path, inode);
    }
    return inode;
  }

  /** Registers a freshly created inode (new fileId, owner = creator). */
  born(path: string, owner: string, permission: number): void {
    this.inodes.set(path, { fileId: this.nextFileId++, owner, group: "supergroup", permission });
  }

  async status(path: string, pathSuffix: string): Promise<FileStatusJson | null> {
    const st = await this.stat(path);
    if (!st) return null;
    const isDir = st.isDirectory();
    const inode = this.inode(path, isDir);
    return {
      accessTime: isDir ? 0 : Math.floor(st.atimeMs),
      blockSize: isDir ? 0 : DEFAULT_BLOCK_SIZE,
      childrenNum: isDir ? (await readdir(this.local(path))).length : 0,
      fileId: inode.fileId,
      group: inode.group,
      length: isDir ? 0 : st.size,
      modificationTime: Math.floor(st.mtimeMs),
      owner: inode.owner,
      pathSuffix,
      permission: inode.permission.toString(8),
      replication: isDir ? 0 : 1,
      storagePolicy: 0,
      type: isDir ? "DIRECTORY" : "FILE",
    };
  }

  async list(path: string): Promise<FileStatusJson[]> {
    const st = await this.stat(path);
    if (!st) throw new HdfsException("FileNotFoundException", `File ${path} does not exist.`);
    if (!st.isDirectory()) return [(await this.status(path, ""))!];
    // HDFS lists children in byte order of their names.
    const names = (await readdir(this.local(path))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const out: FileStatusJson[] = [];
    for (const name of names) {
      const child = await this.status(path === "/" ? `/${name}` : `${path}/${name}`, name);
      if (child) out.push(child);
    }
    return out;
  }

  /** Checks that every existing ancestor is a directory; returns the deepest existing one. */
  async existingAncestor(path: string): Promise<string> {
    let current = "/";
    for (const part of path.split("/").filter(Boolean)) {
      const next = current === "/" ? `/${part}` : `${current}/${part}`;
      const st = await this.stat(next);
      if (!st) return current;
      if (!st.isDirectory()) {
        if (next === path) return current;
        throw new HdfsException("ParentNotDirectoryException", `${next} (is not a directory)`);
      }
      current = next;
    }
    return current;
  }

  async mkdirs(path: string, user: string, permission: number): Promise<boolean> {
    const st = await this.stat(path);
    if (st?.isDirectory()) return true;
    if (st) throw new HdfsException("FileAlreadyExistsException", `Path is not a directory: ${path}`);
    const ancestor = await this.existingAncestor(path);
    this.checkAccess(user, ancestor, 0o3, "WRITE");
    await mkdir(this.local(path), { recursive: true });
    for (let p = path; p !== ancestor; p = parentOf(p)) this.born(p, user, permission);
    return true;
  }

  /** FileSystem.rename (the deprecated, boolean-returning one that WebHDFS RENAME calls). */
  async rename(src: string, dst: string, user: string): Promise<boolean> {
    if (src === "/") return false;
    const srcStat = await this.stat(src);
    if (!srcStat) return false;
    let target = dst;
    const dstStat = await this.stat(dst);
    if (dstStat?.isDirectory()) target = dst === "/" ? `/${baseName(src)}` : `${dst}/${baseName(src)}`;
    if (target === src) return true;
    if (isUnder(target, src)) return false;
    if (await this.stat(target)) return false;
    const parent = await this.stat(parentOf(target));
    if (!parent?.isDirectory()) return false;
    this.checkAccess(user, parentOf(src), 0o3, "WRITE");
    this.checkAccess(user, parentOf(target), 0o3, "WRITE");
    await rename(this.local(src), this.local(target));
    for (const [key, inode] of [...this.inodes]) {
      if (isUnder(key, src)) {
        this.inodes.delete(key);
        this.inodes.set(target + key.slice(src.length), inode);
      }
    }
    return true;
  }

  async delete(path: string, recursive: boolean, user: string): Promise<boolean> {
    if (path === "/") return false;
    const st = await this.stat(path);
    if (!st) return false;
    this.checkAccess(user, parentOf(path), 0o3, "WRITE");
    if (st.isDirectory()) {
      if (!recursive && (await readdir(this.local(path))).length > 0) {
        throw new HdfsException("PathIsNotEmptyDirectoryException", `\`${path} is non empty': Directory is not empty`);
      }
      await (recursive ? rm(this.local(path), { recursive: true, force: true }) : rmdir(this.local(path)));
    } else {
      await unlink(this.local(path));
    }
    for (const key of [...this.inodes.keys()]) if (isUnder(key, path)) this.inodes.delete(key);
    return true;
  }

  /**
   * Permission check as the NameNode's FSPermissionChecker does it, reduced to owner/other bits:
   * `bits` is an rwx mask (4 read, 2 write, 1 execute). The superuser passes everything.
   */
  checkAccess(user: string, path: string, bits: number, access: string, isDir = true): void {
    if (!this.enforcePermissions || user === this.superuser) return;
    const inode = this.inode(path, isDir);
    const granted = user === inode.owner ? (inode.permission >> 6) & 7 : inode.permission & 7;
    if ((granted & bits) === bits) return;
    const rwx = (shift: number) => {
      const b = (inode.permission >> shift) & 7;
      return (b & 4 ? "r" : "-") + (b & 2 ? "w" : "-") + (b & 1 ? "x" : "-");
    };
    const mode = `${isDir ? "d" : "-"}${rwx(6)}${rwx(3)}${rwx(0)}`;
    throw new HdfsException(
      "AccessControlException",
      `Permission denied: user=${user}, access=${access}, inode="${path}":${inode.owner}:${inode.group}:${mode}`,
    );
  }

  /** SETPERMISSION / SETOWNER: only the owner (or the superuser) may change an inode. */
  async setAttributes(path: string, user: string, change: { permission?: number; owner?: string; group?: string }) {
    const st = await this.stat(path);
    if (!st) throw new HdfsException("FileNotFoundException", `File does not exist: ${path}`);
    const inode = this.inode(path, st.isDirectory());
    if (this.enforcePermissions && user !== this.superuser) {
      if (change.owner !== undefined || user !== inode.owner) {
        throw new HdfsException(
          "AccessControlException",
          `Permission denied. user=${user} is not the owner of inode=${path}`,
        );
      }
    }
    if (change.permission !== undefined) inode.permission = change.permission;
    if (change.owner) inode.owner = change.owner;
    if (change.group) inode.group = change.group;
  }
}
