// The errors of dashboard/, each with a listed code and whether trying again may succeed.

/** Codes of the errors this folder raises. */
export const DASHBOARD_ERROR_CODES = ["DASHBOARD_AUTH"] as const;

/** A dashboard that would serve beyond loopback without its HTTP token (or with a bad one). */
export class DashboardAuthError extends Error {
  readonly code = "DASHBOARD_AUTH";
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "DashboardAuthError";
  }
}
