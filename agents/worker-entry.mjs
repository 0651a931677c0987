// Entry of an agent thread, in JavaScript so that starting it needs no type stripping: serves the
// modules the host stripped (agents/typescript-preload.ts) from memory, then runs the agent.
import { registerHooks } from "node:module";
import { workerData } from "node:worker_threads";

const { entry, sources } = workerData.preload;
registerHooks({
  load(url, context, nextLoad) {
    const source = sources[url];
    if (source === undefined) return nextLoad(url, context);
    return { format: "module", source, shortCircuit: true };
  },
});
await import(entry);
