// The errors of streams/ (each with a listed code and whether trying again may succeed), and
// JetStream conditions recognised by their codes, never by message text (descriptions change
// between server versions; codes are nats-server's contract, see its errors.json).
import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from "@nats-io/jetstream";

/** API error codes we act on: @nats-io/jetstream's names, and the ones it does not name. */
export const ApiCodes = {
  ...JetStreamApiCodes,
  AccountResourcesExceeded: 10002,
  InsufficientResources: 10023,
  MemoryResourcesExceeded: 10028,
  SequenceNotFound: 10043,
  StorageResourcesExceeded: 10047,
  StreamMsgDeleteFailed: 10057,
  /** A stream with this name exists with another config. */
  StreamNameInUse: 10058,
  /** Storing failed: with discard-new limits, "maximum messages/bytes exceeded". */
  StreamStoreFailed: 10077,
  ConsumerAlreadyExists: 10148,
  // Temporarily unavailable while a cluster elects leaders (retried: streams/retry.ts).
  ClusterNotAssigned: 10007,
  ClusterNotAvailable: 10008,
  ClusterNotLeader: 10009,
  StreamOffline: 10118,
  ConsumerOffline: 10119,
  ExpectedLastSeqPerSubjectNotReady: 10163,
  /** A Nats-TTL header on a stream without allow_msg_ttl (a bucket of the v1 layout). */
  MessageTtlDisabled: 10166,
} as const;

/** The JetStream API error code of `err` (`err_code`), or undefined when it is not an API error. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** Whether `err` is a JetStream API error with one of `codes`. */
export function isApiError(err: unknown, ...codes: number[]): boolean {
  const code = apiErrorCode(err);
  return code !== undefined && codes.includes(code);
}

/**
 * Whether `err` is a JetStream status reply turned error (direct gets, pulls): 404 no message or
 * no results, 408 request timeout, 409 limits. nats.js raises them as JetStreamStatusError, which it
 * does not export; it is the JetStreamError that carries a numeric status code.
 */
export function isStatusError(err: unknown, ...statuses: number[]): boolean {
  if (!(err instanceof JetStreamError) || err instanceof JetStreamApiError) return false;
  const status = (err as { code?: unknown }).code;
  return typeof status === "number" && statuses.includes(status);
}

/** The expected last (subject) sequence did not match: someone wrote first. */
export function isWrongLastSequence(err: unknown): boolean {
  return isApiError(err, ApiCodes.StreamWrongLastSequence, ApiCodes.StreamWrongLastSequenceUnknown);
}

/** The stream refused the message because a limit was reached (its own, the account's, the server's). */
export function isStreamFull(err: unknown): boolean {
  return isApiError(
    err,
    ApiCodes.StreamStoreFailed,
    ApiCodes.AccountResourcesExceeded,
    ApiCodes.InsufficientResources,
    ApiCodes.StorageResourcesExceeded,
    ApiCodes.MemoryResourcesExceeded,
  );
}

/**
 * A stored message that is not there (any more), by get or delete by sequence. Deleting one that is
 * gone answers 10057 (StreamMsgDeleteFailed) with the store's "no message found" as its text.
 */
export function isNoMessage(err: unknown): boolean {
  return (
    isApiError(err, ApiCodes.NoMessageFound, ApiCodes.SequenceNotFound, ApiCodes.StreamMsgDeleteFailed) ||
    isStatusError(err, 404)
  );
}

/** Codes of the errors this folder raises (beyond the wire's ErrorCode). */
export const STREAMS_ERROR_CODES = ["OBJECT_CORRUPT", "TIMEOUT", "NO_STREAM", "CONNECTION_CONFIG"] as const;
export type StreamsErrorCode = (typeof STREAMS_ERROR_CODES)[number];

/** An object's bytes do not match its info (size or digest): read again, it may have been replaced. */
export class ObjectDigestError extends Error {
  readonly code = "OBJECT_CORRUPT";
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = "ObjectDigestError";
  }
}

/** JetStream did not acknowledge a publish in time; it may have been stored (publish idempotently). */
export class PublishTimeoutError extends Error {
  readonly code = "TIMEOUT";
  readonly retryable = true;
  constructor(subject: string, timeoutMs: number) {
    super(`no acknowledgement from JetStream for a publish to '${subject}' within ${timeoutMs} ms`);
    this.name = "PublishTimeoutError";
  }
}

/**
 * No stream stores the subject (no responders). Not retryable as such: the topology is missing
 * (`docswarm init`); a cluster electing a stream leader answers the same for a moment, which the
 * JetStream retry wrapper tells apart.
 */
export class NoStreamError extends Error {
  readonly code = "NO_STREAM";
  readonly retryable = false;
  constructor(subject: string) {
    super(`no stream stores subject '${subject}' (no responders)`);
    this.name = "NoStreamError";
  }
}

/** Connection settings that contradict each other or name a file that is not there. */
export class ConnectionConfigError extends Error {
  readonly code = "CONNECTION_CONFIG";
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionConfigError";
  }
}

/** An uploaded document's chunks are missing or do not match the headers that announce them. */
export class UploadError extends Error {
  readonly code: "OBJECT_MISSING" | "HEADER_INVALID";
  readonly retryable = false;
  constructor(code: "OBJECT_MISSING" | "HEADER_INVALID", message: string) {
    super(message);
    this.name = "UploadError";
    this.code = code;
  }
}
