// The observability tests' spelling of the shared helpers: waitFor takes what it waits for first.
import { type WaitOptions, waitFor as waitUntil } from "./wait.ts";

export { startServer } from "./server.ts";

/** Polls `check` until it returns a value other than undefined / false, or fails after timeoutMs. */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: Omit<WaitOptions, "message"> = {},
): Promise<T> {
  return waitUntil(check, { timeoutMs: 20_000, ...options, message: what }) as Promise<T>;
}
