// Shutting down a long-lived object: every step runs, even when an earlier one failed (a half-closed
// object leaks its timers, connections or processes), as BullMQ's Worker.close does with finally.

/**
 * Runs `steps` in order, each one whatever happened to the one before, then rethrows the failure
 * (an AggregateError when several failed).
 */
export async function closeSteps(...steps: Array<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} shutdown steps failed`);
}
