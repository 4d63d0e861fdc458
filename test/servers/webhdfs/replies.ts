/**
 * Answers and request parameters of the WebHDFS test server: JSON and RemoteException replies
 * (WebHDFS.md "Error Responses"), and the parameters' parsing as the NameNode's *Param classes do it.
 */
import type { FailSpec } from "./faults.ts";
import { EXCEPTIONS, HdfsException, normalizeHdfsPath } from "./namespace.ts";

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer;
}

export function json(status: number, value: unknown): Reply {
  return { status, headers: { "Content-Type": "application/json" }, body: Buffer.from(JSON.stringify(value)) };
}

export function remote(status: number, exception: string, message: string, javaClassName?: string): Reply {
  const cls = javaClassName ?? EXCEPTIONS[exception]?.javaClassName;
  return json(status, { RemoteException: { exception, ...(cls ? { javaClassName: cls } : {}), message } });
}

export function failure(spec: FailSpec): Reply {
  const byStatus: Record<number, string> = {
    400: "IllegalArgumentException",
    401: "SecurityException",
    403: "IOException",
    404: "FileNotFoundException",
    500: "RuntimeException",
  };
  const exception = spec.exception === undefined ? byStatus[spec.status] : spec.exception;
  const message = spec.message ?? `Injected fault (${spec.status})`;
  const reply = exception
    ? remote(spec.status, exception, message, spec.javaClassName)
    : { status: spec.status, headers: { "Content-Type": "text/plain" }, body: Buffer.from(`${message}\n`) };
  reply.headers = { ...reply.headers, ...spec.headers };
  return reply;
}

export function hdfsPath(encoded: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    throw new HdfsException("IllegalArgumentException", `Invalid path encoding: ${encoded}`);
  }
  return normalizeHdfsPath(decoded || "/");
}

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export function boolParam(q: Record<string, string>, name: string): boolean {
  const v = q[name];
  if (v === undefined || v === "") return false;
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
  throw new HdfsException(
    "IllegalArgumentException",
    `Invalid value for webhdfs parameter "${name}": Failed to parse "${v}" to Boolean.`,
  );
}

export function longParam(q: Record<string, string>, name: string, fallback: number): number {
  const v = q[name];
  if (v === undefined || v === "" || v === "null") return fallback;
  if (!/^-?\d+$/.test(v) || Number(v) < (fallback < 0 ? -1 : 0)) {
    throw new HdfsException(
      "IllegalArgumentException",
      `Invalid value for webhdfs parameter "${name}": Invalid value "${v}"`,
    );
  }
  return Number(v);
}

export function permissionParam(v: string | undefined, fallback: number): number {
  if (v === undefined || v === "") return fallback;
  const n = /^[0-7]{1,4}$/.test(v) ? Number.parseInt(v, 8) : Number.NaN;
  if (!(n >= 0 && n <= 0o1777)) {
    throw new HdfsException(
      "IllegalArgumentException",
      `Invalid value for webhdfs parameter "permission": Invalid permission "${v}"`,
    );
  }
  return n;
}
