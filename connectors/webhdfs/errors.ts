/**
 * WebHDFS failures → LogbenchError. The server names its Java exception in a RemoteException body
 * (WebHDFS.md "Error Responses", apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md);
 * the exception decides the code, because the HTTP status is coarse (every IOException is a 403,
 * StandbyException included). The status decides only when no RemoteException came back (a proxy).
 */
import { type ErrorCode, LogbenchError } from "../errors.ts";

export interface RemoteException {
  exception: string;
  javaClassName?: string;
  message: string;
}

const BY_EXCEPTION: Record<string, ErrorCode> = {
  FileNotFoundException: "NOT_FOUND",
  FileAlreadyExistsException: "ALREADY_EXISTS",
  AccessControlException: "PERMISSION",
  SecurityException: "PERMISSION",
  AuthorizationException: "PERMISSION",
  AuthenticationException: "PERMISSION",
  InvalidToken: "PERMISSION",
  IllegalArgumentException: "BAD_REQUEST",
  HadoopIllegalArgumentException: "BAD_REQUEST",
  UnsupportedOperationException: "BAD_REQUEST",
  InvalidPathException: "BAD_REQUEST",
  ParentNotDirectoryException: "BAD_REQUEST",
  PathIsNotDirectoryException: "BAD_REQUEST",
  PathIsNotEmptyDirectoryException: "BAD_REQUEST",
  StandbyException: "UNAVAILABLE",
  RetriableException: "UNAVAILABLE",
  SafeModeException: "UNAVAILABLE",
  ObserverRetryOnActiveException: "UNAVAILABLE",
  ConnectException: "UNAVAILABLE",
  AlreadyBeingCreatedException: "CONFLICT",
  RecoveryInProgressException: "CONFLICT",
  LeaseExpiredException: "CONFLICT",
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: "BAD_REQUEST",
  401: "PERMISSION",
  403: "PERMISSION",
  404: "NOT_FOUND",
  408: "TIMEOUT",
  409: "CONFLICT",
  429: "THROTTLED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "UNAVAILABLE",
};

/** The RemoteException in a response body, or null when the body is something else. */
export function parseRemoteException(body: string): RemoteException | null {
  try {
    const value = JSON.parse(body) as { RemoteException?: Partial<RemoteException> };
    const r = value?.RemoteException;
    if (r && typeof r.exception === "string") {
      return { exception: r.exception, javaClassName: r.javaClassName, message: String(r.message ?? "") };
    }
  } catch {
    // not JSON: a proxy's or servlet container's page
  }
  return null;
}

/** The simple name ("org.apache.hadoop.security.token.SecretManager$InvalidToken" → "InvalidToken"). */
function simpleName(remote: RemoteException): string {
  const fromClass = remote.javaClassName?.split(/[.$]/).pop();
  return remote.exception in BY_EXCEPTION || !fromClass ? remote.exception : fromClass;
}

export function errorCodeFor(status: number, remote: RemoteException | null): ErrorCode {
  if (remote) {
    const code = BY_EXCEPTION[simpleName(remote)];
    if (code) return code;
    // A 403 with an unknown exception is some IOException, not a refusal.
    if (status === 403) return "INTERNAL";
  }
  return BY_STATUS[status] ?? (status >= 500 ? "INTERNAL" : "BAD_REQUEST");
}

/** `doing` is a gerund phrase naming the op and HDFS path ("creating /logbench/x"); never a URL. */
export function httpError(
  doing: string,
  status: number,
  body: string,
  redact: (text: string) => string,
  retryAfterMs?: number,
): LogbenchError {
  const remote = parseRemoteException(body);
  const code = errorCodeFor(status, remote);
  const what = remote
    ? `${remote.exception}: ${remote.message}`
    : `HTTP ${status}${body.trim() ? ` ${body.trim().slice(0, 200)}` : ""}`;
  return new LogbenchError(code, redact(`${doing}: ${what}`), {
    retryAfterMs,
    details: { status, exception: remote?.exception, javaClassName: remote?.javaClassName },
  });
}

/** Retry-After in seconds or as an HTTP date, in ms. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
