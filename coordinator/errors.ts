// The errors of coordinator/, each with a listed code and whether trying again may succeed.

/** Codes of the errors this folder raises (beyond the wire's ErrorCode). */
export const COORDINATOR_ERROR_CODES = ["NOT_LEADER"] as const;
export type CoordinatorErrorCode = (typeof COORDINATOR_ERROR_CODES)[number];

/** A leader's duty asked of a coordinator that is not (or no longer) the leader. */
export class NotLeaderError extends Error {
  readonly code = "NOT_LEADER";
  /** The leader of the new term does it. */
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = "NotLeaderError";
  }
}
