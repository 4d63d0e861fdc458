/**
 * One error type for every connector and stage. Each connector maps its protocol's answers
 * (WebHDFS RemoteException, InfluxDB HTTP status, Kafka retriable errors) to a code from this list,
 * so that callers decide on retry from `retryable` and never from message text.
 */
export const ERROR_CODES = [
  "CONFIG", // bad configuration: never retried, exit code 2
  "USAGE", // bad command-line usage: exit code 2
  "NOT_FOUND", // file, topic, bucket or database missing
  "ALREADY_EXISTS", // create without overwrite on an existing path
  "PERMISSION", // authentication or authorisation refused
  "BAD_REQUEST", // the server rejected what we sent (400/422): retrying cannot help
  "UNAVAILABLE", // connection refused, 503, broker down: retry with backoff
  "THROTTLED", // 429 or quota: retry after retryAfterMs
  "TIMEOUT", // no answer in time: retry
  "CONFLICT", // concurrent modification, lease held, generation fenced
  "PARSE", // input that cannot be read as what it claims to be
  "INTERNAL", // a bug or an answer we do not understand
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(["UNAVAILABLE", "THROTTLED", "TIMEOUT", "CONFLICT"]);

export interface LogbenchErrorOptions {
  retryable?: boolean;
  retryAfterMs?: number;
  cause?: unknown;
  /** Extra facts for logs and tests (never secrets). */
  details?: Record<string, unknown>;
}

export class LogbenchError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: LogbenchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LogbenchError";
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}

export function isLogbenchError(err: unknown, code?: ErrorCode): err is LogbenchError {
  return err instanceof LogbenchError && (code === undefined || err.code === code);
}

/** Wrap any thrown value with a gerund prefix ("writing points: …"), keeping a LogbenchError's code. */
export function wrapError(doing: string, err: unknown, fallback: ErrorCode = "INTERNAL"): LogbenchError {
  if (err instanceof LogbenchError) {
    return new LogbenchError(err.code, `${doing}: ${err.message}`, {
      retryable: err.retryable,
      retryAfterMs: err.retryAfterMs,
      cause: err,
      details: err.details,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LogbenchError(fallback, `${doing}: ${message}`, { cause: err });
}
