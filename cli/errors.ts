// The errors of cli/ (each with a listed code and whether trying again may succeed), and how the
// CLI names an error.

/** Codes of the errors this folder raises. */
export const CLI_ERROR_CODES = ["USAGE"] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** A command used wrongly: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  readonly code = "USAGE";
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** How the CLI names an error: its stable code first, when it has one. */
export function clientErrorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? `${code}: ` : "";
}
