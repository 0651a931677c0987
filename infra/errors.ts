// The errors of infra/, each with a listed code and whether trying again may succeed.

/** Codes of the errors this folder raises. */
export const INFRA_ERROR_CODES = [
  "NATS_SERVER_NOT_FOUND",
  "NATS_SERVER_DOWNLOAD_FAILED",
  "EMBEDDED_SERVER_FAILED",
  "AUTH_DIR",
] as const;
export type InfraErrorCode = (typeof INFRA_ERROR_CODES)[number];

/** No nats-server new enough: install one (DEVELOPERS.md says how). */
export class NatsServerNotFoundError extends Error {
  readonly code = "NATS_SERVER_NOT_FOUND";
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "NatsServerNotFoundError";
  }
}

/** Fetching the nats-server release into the cache failed (network, checksum, unpacking). */
export class NatsDownloadError extends Error {
  readonly code = "NATS_SERVER_DOWNLOAD_FAILED";
  /** A network failure may pass; a platform without a build or a bad checksum will not. */
  readonly retryable: boolean;
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = "NatsDownloadError";
    this.retryable = options?.retryable ?? false;
  }
}

/** The embedded nats-server did not start (or stopped); its log is in the message. */
export class EmbeddedServerError extends Error {
  readonly code = "EMBEDDED_SERVER_FAILED";
  /** A port taken meanwhile, a slow start: another attempt may succeed. */
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EmbeddedServerError";
  }
}

/** An auth directory (docswarm auth init) that cannot be created, read or added to as asked. */
export class AuthDirError extends Error {
  readonly code = "AUTH_DIR";
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "AuthDirError";
  }
}

/** A role's credentials are not in the auth directory. */
export class AuthDirMissingError extends Error {
  readonly code = "AUTH_DIR";
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "AuthDirMissingError";
  }
}
