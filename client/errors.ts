// The errors of client/: codes match the wire contract's (ErrorCode), plus the client's own waits,
// and say whether trying again may succeed.
import type { ErrorCode } from "../schemas/index.ts";
import type { StreamsErrorCode } from "../streams/index.ts";

/** Codes of the errors this folder raises beyond the wire's ErrorCode and streams/' TIMEOUT. */
export const CLIENT_ERROR_CODES = ["NOT_FOUND"] as const;

export type ClientErrorCode =
  | ErrorCode
  | Extract<StreamsErrorCode, "TIMEOUT">
  | (typeof CLIENT_ERROR_CODES)[number];

// Waiting longer or later can succeed; the rest is the caller's input or the swarm's answer.
const RETRYABLE = new Set<ClientErrorCode>(["TIMEOUT", "SWARM_FULL", "INTERNAL"]);

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  readonly retryable: boolean;
  constructor(code: ClientErrorCode, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = "ClientError";
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE.has(code);
  }
}
