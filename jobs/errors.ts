// The errors of jobs/, each with a code (the wire's ErrorCode) and whether trying again may succeed.

/** A job record that kept changing under our compare-and-set updates. */
export class JobConflictError extends Error {
  readonly code = "INTERNAL";
  readonly retryable = true;
  constructor(docId: string) {
    super(`job ${docId}: too many conflicting updates`);
    this.name = "JobConflictError";
  }
}

/** A stored final result that does not decode (or whose large body's object is gone). */
export class FinalResultInvalidError extends Error {
  readonly code = "SCHEMA_INVALID";
  /** What is stored stays as it is. */
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "FinalResultInvalidError";
  }
}
