// Errors a stage throws; `code` and `retryable` survive serialisation across threads and NATS.
import type { ErrorCode, ErrorInfo } from "../schemas/index.ts";

export class StageError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = "StageError";
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

/** Anything thrown by a handler, as an ErrorInfo; unknown errors are retryable INTERNAL ones. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof StageError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  return { code: "INTERNAL", message, retryable: true };
}
