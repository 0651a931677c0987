// Ctrl-C, SIGTERM and SIGHUP (the terminal closed): the first runs the registered cleanups (agents
// finish, servers stop), a second one exits at once. The embedded server's guard takes the server
// down with us either way. The
// handlers are installed when the CLI starts, so a signal during a command's start-up is handled
// too: what was registered by then is cleaned up at once, the rest when the command reaches
// untilSignal().
type Cleanup = () => Promise<void>;

const cleanups: Cleanup[] = [];
let signalled: Promise<NodeJS.Signals> | undefined;

export function onShutdown(fn: Cleanup): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Installs the SIGINT/SIGTERM/SIGHUP handlers (once); resolves after the first signal's cleanups. */
export function installSignalHandlers(): Promise<NodeJS.Signals> {
  signalled ??= new Promise((resolve) => {
    // A closed terminal (EIO) or a reader gone (EPIPE) must not crash a run midway: the results go
    // to files, and the cleanups must run.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`\ndocswarm: ${signal}, shutting down (again to force)\n`);
      void runCleanups().then(() => resolve(signal));
    };
    for (const signal of SIGNALS) process.on(signal, handler);
  });
  return signalled;
}

/** An AbortSignal that fires at Ctrl-C / SIGTERM (for waits that should end then). */
export function shutdownSignal(): AbortSignal {
  const abort = new AbortController();
  onShutdown(async () => abort.abort());
  return abort.signal;
}

/** For long-running commands: resolves when a signal arrived and every cleanup has run. */
export async function untilSignal(): Promise<NodeJS.Signals> {
  const signal = await installSignalHandlers();
  await runCleanups(); // anything registered after the signal arrived
  return signal;
}

/** For commands that finish by themselves but must clean up (and exit 130) on Ctrl-C. */
export function exitOnSignal(): void {
  void installSignalHandlers().then(async () => {
    await runCleanups();
    process.exit(130);
  });
}
