// The one waitFor: tests wait on state with a named deadline, never on a sleep.
import { setTimeout as sleep } from "node:timers/promises";

export type WaitOptions = {
  /** What is awaited, for the error when the deadline passes. */
  message?: string;
  /** Give up after this long (a generous bound; nothing is measured). Default 30 s. */
  timeoutMs?: number;
  intervalMs?: number;
};

export class WaitTimeoutError extends Error {
  readonly code = "WAIT_TIMEOUT";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WaitTimeoutError";
  }
}

/** "Not yet" values: the resolved type leaves them out. */
type Falsy<T> = T | false | null | undefined;

/**
 * Calls `predicate` until it returns a truthy value and resolves with that value. A predicate that
 * throws counts as "not yet"; the last error is named in the timeout error and is its cause.
 */
export async function waitFor<T>(
  predicate: () => Falsy<T> | Promise<Falsy<T>>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? "" : ` (last error: ${(lastError as Error).message})`;
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${options.message ?? "a condition"}${why}`,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await sleep(intervalMs);
  }
}
