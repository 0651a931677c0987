// Ctrl-C and SIGTERM: the first runs the registered cleanups (agents finish, servers stop), a second
// one exits at once. The embedded server's guard takes the server down with us either way.
type Cleanup = () => Promise<void>;

const cleanups: Cleanup[] = [];
let stopping = false;

export function onShutdown(fn: Cleanup): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
}

/** Resolves when SIGINT or SIGTERM arrives (after the cleanups have run). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`\ndocswarm: ${signal}, shutting down (again to force)\n`);
      void runCleanups().then(() => resolve(signal));
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
  });
}

/** Installs the handlers for a command that finishes by itself but must clean up on Ctrl-C. */
export function exitOnSignal(): void {
  void untilSignal().then(() => process.exit(130));
}
