// Polling with a named deadline: tests wait on state, never on a sleep.
import { setTimeout as sleep } from "node:timers/promises";

export type WaitOptions = {
  /** Give up after this long (a generous bound; nothing is measured). */
  timeoutMs?: number;
  /** What was awaited, for the error when the deadline passes. */
  message?: string;
  intervalMs?: number;
};

export class WaitTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WaitTimeoutError";
  }
}

/**
 * Calls `predicate` until it returns a truthy value and resolves with that value. A predicate that
 * throws counts as "not yet"; the last error is the timeout error's cause.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${options.message ?? "a condition"}`,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await sleep(intervalMs);
  }
}
