// The errors of agents/, each with a code (all of them the wire's ErrorCode) and whether trying
// again may succeed; `code` and `retryable` survive serialisation across threads and NATS.
import type { ErrorCode, ErrorInfo } from "../schemas/index.ts";

/** A stage's error. */
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

/** A stage module that cannot be loaded, or is not a stage. */
export class StageLoadError extends Error {
  readonly code = "UNKNOWN_STAGE";
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StageLoadError";
  }
}

/** Anything thrown by a handler, as an ErrorInfo; unknown errors are retryable INTERNAL ones. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof StageError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  return { code: "INTERNAL", message, retryable: true };
}
