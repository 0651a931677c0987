// Room in an agent thread's old generation before its first full collection (V8's
// --initial-old-space-size, which Node's resourceLimits do not offer). Without it V8 sets an agent's
// old-generation limit a few MB above what is live (~18 MB), and what a stream of small documents
// promotes fills that every few hundred milliseconds: a full mark-compact each time, mostly on V8's
// helper threads. The flag is process-wide and read when an isolate is created, so it is set only
// while agent threads are starting and put back (0: V8's own choice) once they run; a process
// started with its own value keeps it.
import { setFlagsFromString } from "node:v8";
import type { Worker } from "node:worker_threads";

const FLAG = "initial-old-space-size";

const givenByUser = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) =>
  a.replaceAll("_", "-").startsWith(`--${FLAG}`),
);

let starting = 0;

function release(): void {
  if (--starting === 0) setFlagsFromString(`--${FLAG}=0`);
}

/** Starts a worker (`spawn`) whose isolate's old generation has room for `mb` MB (0: V8's default). */
export function withInitialOldGeneration(mb: number, spawn: () => Worker): Worker {
  if (mb <= 0 || givenByUser) return spawn();
  if (starting++ === 0) setFlagsFromString(`--${FLAG}=${mb}`);
  let worker: Worker;
  try {
    worker = spawn();
  } catch (err) {
    release();
    throw err;
  }
  let released = false;
  const started = () => {
    if (released) return;
    released = true;
    release();
  };
  // "online": the thread runs JavaScript, so its isolate (and heap) exists.
  worker.once("online", started);
  worker.once("error", started);
  worker.once("exit", started);
  return worker;
}
