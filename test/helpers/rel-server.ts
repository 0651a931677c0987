// Helpers of the reliability tests: a private nats-server per test (stopped by t.teardown), NATS
// connections that close with the test, and polling with a named deadline instead of sleeps.
import type { ExecutionContext } from "ava";
import { EmbeddedNatsServer, type EmbeddedServerOptions } from "../../infra/index.ts";
import type { TopologyOptions } from "../../schemas/index.ts";
import { connectNats, ensureTopology } from "../../streams/index.ts";

export async function startServer(t: ExecutionContext, options: EmbeddedServerOptions = {}) {
  const server = await EmbeddedNatsServer.start(options);
  t.teardown(() => server.close());
  return server;
}

/** A connection closed by the test's teardown. */
export async function connectFor(t: ExecutionContext, url: string, name = "docswarm-test") {
  const nc = await connectNats({ servers: url, name });
  t.teardown(() => nc.close().catch(() => {}));
  return nc;
}

/** A server with the docswarm topology, and a connection to it. */
export async function startTopology(t: ExecutionContext, topology: TopologyOptions = {}) {
  const server = await startServer(t);
  const nc = await connectFor(t, server.url);
  await ensureTopology(nc, topology);
  return { server, nc, url: server.url };
}

export class WaitTimeoutError extends Error {
  readonly code = "WAIT_TIMEOUT";
  constructor(message: string) {
    super(message);
    this.name = "WaitTimeoutError";
  }
}

/** Polls `predicate` until it returns a truthy value (which is returned) or the deadline passes. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : "";
      throw new WaitTimeoutError(`timed out waiting for ${options.what ?? "a condition"}${why}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
