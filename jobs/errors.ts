// The errors of jobs/, each with a code (the wire's ErrorCode, or one listed here) and whether trying
// again may succeed.

/** Codes of the errors this folder raises (beyond the wire's ErrorCode). */
export const JOBS_ERROR_CODES = ["STALE_TERM"] as const;
export type JobsErrorCode = (typeof JOBS_ERROR_CODES)[number];

/**
 * A leader's job write refused because a newer coordinator term has written the job: the writer was
 * deposed and must stop acting as leader.
 */
export class StaleTermError extends Error {
  readonly code = "STALE_TERM";
  /** Not by this writer: the leader of the newer term does it. */
  readonly retryable = false;
  readonly term: number;
  readonly jobTerm: number;
  /** The revision our write was computed from, when the server refused that write. */
  readonly refusedRevision: number | undefined;
  constructor(docId: string, term: number, jobTerm: number, refusedRevision?: number) {
    super(
      `job ${docId}: written by term ${jobTerm}, newer than this writer's term ${term}${
        refusedRevision === undefined ? "" : ` (the server refused our write at revision ${refusedRevision})`
      }`,
    );
    this.name = "StaleTermError";
    this.term = term;
    this.jobTerm = jobTerm;
    this.refusedRevision = refusedRevision;
  }
}

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
