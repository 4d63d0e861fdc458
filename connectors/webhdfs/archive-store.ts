/**
 * ArchiveStore on HDFS through WebHDFS (apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md).
 * Paths are relative to `config.root`. HDFS RENAME is atomic, which is what lets the archive write a
 * file under a temporary name and publish it in one step; its boolean answer is disambiguated here
 * into the ArchiveStore contract (false only for a missing source, ALREADY_EXISTS for a taken name).
 */
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { secretFrom } from "../secrets.ts";
import type { ArchiveStore, FileStatus } from "../types.ts";
import { type HdfsFileStatus, WebHdfsClient } from "./client.ts";
import type { WebHdfsArchiveConfig } from "./config.ts";

export function createWebHdfsArchive(config: WebHdfsArchiveConfig, ctx: Context): ArchiveStore {
  const client = new WebHdfsClient({
    url: config.url,
    user: config.user,
    delegationToken: secretFrom(config.delegationToken, config.delegationTokenFile, "archive.delegationTokenFile"),
    timeoutMs: config.timeout,
    retries: config.retries,
    retryBackoffMs: config.retryBackoff,
    logger: ctx.logger.child({ component: "webhdfs" }),
    metrics: ctx.metrics,
    signal: ctx.signal,
  });
  const root = config.root.replace(/\/+$/, "") || "/";
  const abs = (rel: string) => {
    const clean = relativePath(rel);
    if (!clean) return root;
    return root === "/" ? `/${clean}` : `${root}/${clean}`;
  };
  const toStatus = (rel: string, st: HdfsFileStatus, name: string): FileStatus => ({
    path: rel,
    name,
    type: st.type === "DIRECTORY" ? "DIRECTORY" : "FILE",
    length: st.length,
    modificationTime: st.modificationTime,
  });

  return {
    kind: "webhdfs",
    root: `webhdfs://${new URL(config.url).host}${root}`,

    async create(path, data, options = {}) {
      await client.create(abs(path), data, { overwrite: options.overwrite ?? false });
    },

    async append(path, data) {
      await client.append(abs(path), data);
    },

    async open(path) {
      return client.open(abs(path));
    },

    async rename(from, to) {
      const src = abs(from);
      const dst = abs(to);
      // HDFS would move the source *into* an existing directory; the contract wants a refusal.
      if (await client.status(dst))
        throw new LogbenchError("ALREADY_EXISTS", `renaming ${src} to ${dst}: ${dst} exists`);
      if (await client.rename(src, dst)) return true;
      if (!(await client.status(src))) return false;
      // HDFS refuses a rename whose destination folder is missing. Make sure it exists (MKDIRS is idempotent) and
      // try again, even when it exists by now: another writer may have created it after our first attempt, which
      // is what happens when several partitions roll into the same new hour at once.
      const parent = dst.slice(0, dst.lastIndexOf("/")) || "/";
      await client.mkdirs(parent);
      if (await client.rename(src, dst)) return true;
      if (!(await client.status(src))) return false;
      if (await client.status(dst))
        throw new LogbenchError("ALREADY_EXISTS", `renaming ${src} to ${dst}: ${dst} exists`);
      throw new LogbenchError("INTERNAL", `renaming ${src} to ${dst}: HDFS refused the rename`);
    },

    // The NameNode has logged a CREATE or RENAME by the time it answers: `durable: false` changes nothing here.
    async sync() {},

    async list(path) {
      const rel = relativePath(path);
      const dir = abs(rel);
      const entries = await client.listStatus(dir);
      // LISTSTATUS on a file answers with the file itself (pathSuffix ""); the contract lists directories only.
      if (entries.length === 1 && entries[0]!.pathSuffix === "") {
        throw new LogbenchError("BAD_REQUEST", `listing ${dir}: not a directory`);
      }
      return entries
        .map((st) => toStatus(rel ? `${rel}/${st.pathSuffix}` : st.pathSuffix, st, st.pathSuffix))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    async status(path) {
      const rel = relativePath(path);
      const st = await client.status(abs(rel));
      return st ? toStatus(rel, st, rel.slice(rel.lastIndexOf("/") + 1)) : null;
    },

    async mkdirs(path) {
      if (!(await client.mkdirs(abs(path)))) {
        throw new LogbenchError("INTERNAL", `creating directory ${abs(path)}: HDFS answered false`);
      }
    },

    async delete(path, options = {}) {
      const target = abs(path);
      if (target === root && relativePath(path) === "") {
        throw new LogbenchError("BAD_REQUEST", `deleting ${target}: refusing to delete the archive root`);
      }
      return client.delete(target, { recursive: options.recursive ?? false });
    },

    async close() {},
  };
}

/** "a//b/" → "a/b"; rejects absolute paths and "." / ".." segments (the store never leaves its root). */
function relativePath(path: string): string {
  if (path.startsWith("/")) throw new LogbenchError("BAD_REQUEST", `archive paths are relative, got "${path}"`);
  const parts = path.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) {
    throw new LogbenchError("BAD_REQUEST", `archive paths may not contain "." or "..", got "${path}"`);
  }
  return parts.join("/");
}
