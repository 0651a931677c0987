// Errors the client raises before or instead of a final result; codes match the wire contract's.
import type { ErrorCode } from "../schemas/index.ts";

export type ClientErrorCode = ErrorCode | "TIMEOUT" | "NOT_FOUND";

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClientError";
    this.code = code;
  }
}
