// Test helpers: a real nats-server per test (stopped by t.teardown at once) and deadline-bounded polling.
import type { ExecutionContext } from "ava";
import { EmbeddedNatsServer } from "../../infra/index.ts";

export async function startServer(t: ExecutionContext): Promise<EmbeddedNatsServer> {
  const server = await EmbeddedNatsServer.start();
  t.teardown(() => server.close());
  return server;
}

/** Polls `check` until it returns a value other than undefined / false, or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
