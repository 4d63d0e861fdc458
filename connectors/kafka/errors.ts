/**
 * kafkajs errors → LogbenchError. Protocol error names follow the Kafka protocol's error table
 * (https://kafka.apache.org/protocol#protocol_error_codes); kafkajs exposes them as `type`.
 */
import { type ErrorCode, LogbenchError } from "../errors.ts";

interface KafkaJsLikeError {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

const BY_TYPE: Record<string, ErrorCode> = {
  UNKNOWN_TOPIC_OR_PARTITION: "NOT_FOUND",
  UNKNOWN_TOPIC_ID: "NOT_FOUND",
  TOPIC_AUTHORIZATION_FAILED: "PERMISSION",
  GROUP_AUTHORIZATION_FAILED: "PERMISSION",
  CLUSTER_AUTHORIZATION_FAILED: "PERMISSION",
  SASL_AUTHENTICATION_FAILED: "PERMISSION",
  ILLEGAL_SASL_STATE: "PERMISSION",
  UNSUPPORTED_SASL_MECHANISM: "PERMISSION",
  REBALANCE_IN_PROGRESS: "CONFLICT",
  ILLEGAL_GENERATION: "CONFLICT",
  UNKNOWN_MEMBER_ID: "CONFLICT",
  FENCED_INSTANCE_ID: "CONFLICT",
  REQUEST_TIMED_OUT: "TIMEOUT",
  THROTTLING_QUOTA_EXCEEDED: "THROTTLED",
  MESSAGE_TOO_LARGE: "BAD_REQUEST",
  RECORD_LIST_TOO_LARGE: "BAD_REQUEST",
  INVALID_RECORD: "BAD_REQUEST",
  CORRUPT_MESSAGE: "BAD_REQUEST",
  INVALID_TOPIC_EXCEPTION: "BAD_REQUEST",
  INVALID_REQUIRED_ACKS: "BAD_REQUEST",
  INVALID_COMMIT_OFFSET_SIZE: "BAD_REQUEST",
  OFFSET_METADATA_TOO_LARGE: "BAD_REQUEST",
  INVALID_TIMESTAMP: "BAD_REQUEST",
  UNSUPPORTED_VERSION: "BAD_REQUEST",
};

/** Generation fencing: retrying the same request cannot succeed, the member must rejoin first. */
const FENCED = new Set(["ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"]);

const BY_NAME: Record<string, ErrorCode> = {
  KafkaJSConnectionError: "UNAVAILABLE",
  KafkaJSConnectionClosedError: "UNAVAILABLE",
  KafkaJSBrokerNotFound: "UNAVAILABLE",
  KafkaJSNoBrokerAvailableError: "UNAVAILABLE",
  KafkaJSGroupCoordinatorNotFound: "UNAVAILABLE",
  KafkaJSMetadataNotLoaded: "UNAVAILABLE",
  KafkaJSTopicMetadataNotLoaded: "UNAVAILABLE",
  KafkaJSRequestTimeoutError: "TIMEOUT",
  KafkaJSTimeout: "TIMEOUT",
  KafkaJSLockTimeout: "TIMEOUT",
  KafkaJSSASLAuthenticationError: "PERMISSION",
  KafkaJSServerDoesNotSupportApiKey: "BAD_REQUEST",
  KafkaJSNotImplemented: "BAD_REQUEST",
};

/** Innermost kafkajs error: KafkaJSNumberOfRetriesExceeded wraps the error that kept failing. */
function rootCause(err: KafkaJsLikeError): KafkaJsLikeError {
  let current = err;
  for (let i = 0; i < 8; i++) {
    const next = (current.originalError ?? current.cause) as KafkaJsLikeError | undefined;
    if (!next || typeof next !== "object" || next === current) break;
    current = next;
  }
  return current;
}

/**
 * Map a kafkajs error to a LogbenchError with a gerund prefix ("producing to weblogs: …").
 * Retries exhausted on a retriable cause stay retryable: the caller may try again later.
 */
export function kafkaError(doing: string, err: unknown): LogbenchError {
  if (err instanceof LogbenchError) {
    return new LogbenchError(err.code, `${doing}: ${err.message}`, {
      retryable: err.retryable,
      cause: err,
      details: err.details,
    });
  }
  if (!err || typeof err !== "object") return new LogbenchError("INTERNAL", `${doing}: ${String(err)}`);
  const outer = err as KafkaJsLikeError;
  const root = rootCause(outer);
  const type = root.type ?? outer.type;
  const name = root.name ?? outer.name ?? "Error";
  let code: ErrorCode | undefined = (type && BY_TYPE[type]) || BY_NAME[name];
  const rootRetriable = root.retriable ?? outer.retriable ?? false;
  if (!code) code = rootRetriable ? "UNAVAILABLE" : "INTERNAL";
  let retryable = rootRetriable || code === "UNAVAILABLE" || code === "TIMEOUT" || code === "THROTTLED";
  if (code === "NOT_FOUND" || code === "PERMISSION" || code === "BAD_REQUEST") retryable = false;
  if (type && FENCED.has(type)) retryable = false;
  const message = root === outer ? outer.message : `${outer.message} (${root.message})`;
  return new LogbenchError(code, `${doing}: ${message ?? name}`, {
    retryable,
    cause: err,
    details: { kafkaError: name, ...(type ? { kafkaType: type } : {}) },
  });
}

/**
 * kafkajs retry settings, spelled out: kafkajs swaps in tiny test defaults (50 ms, at most 1 s)
 * whenever NODE_ENV is "test", which would make a short broker outage fatal under vitest only.
 * 300 ms doubling (±20 %) gives about 9 s of retries for the default 5.
 */
export function kafkaRetry(retries: number) {
  return { retries, initialRetryTime: 300, maxRetryTime: 30_000, factor: 0.2, multiplier: 2 };
}
