// bench-sleep: an I/O-bound user stage (a fixed wait, no CPU), for scaling and recovery runs.
// Optionally it announces each start on core NATS, dies mid-task on its first delivery (the agent
// thread exits, as a crash would), or waits long only in one process (the one the bench kills).
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { defineStage } from "../../agents/index.ts";

export const SleepInput = z.object({
  waitMs: z.number().int().nonnegative(),
  /** Publish {taskId, delivery, agentId, pid, at} here when the task starts. */
  announce: z.string().optional(),
  /** On delivery 1: announce a crash after this many ms, then end the agent thread. */
  crashAfterMs: z.number().int().nonnegative().optional(),
  /** In this process wait `victimWaitMs` instead (the bench kills the process meanwhile). */
  victimPid: z.number().int().optional(),
  victimWaitMs: z.number().int().nonnegative().optional(),
});
export type SleepInput = z.infer<typeof SleepInput>;

export type SleepEvent = {
  kind: "start" | "crash";
  taskId: string;
  delivery: number;
  agentId: string;
  pid: number;
  at: number;
};

const encoder = new TextEncoder();

export default defineStage({
  name: "bench-sleep",
  input: SleepInput,
  output: z.object({}),
  async process(input, ctx) {
    const nc = ctx.services.nc;
    const announce = async (kind: SleepEvent["kind"]) => {
      if (!input.announce) return;
      const e: SleepEvent = {
        kind,
        taskId: ctx.task.taskId,
        delivery: ctx.delivery,
        agentId: ctx.agentId,
        pid: process.pid,
        at: Date.now(),
      };
      nc.publish(input.announce, encoder.encode(JSON.stringify(e)));
      await nc.flush();
    };
    await announce("start");
    if (input.crashAfterMs !== undefined && ctx.delivery === 1) {
      await sleep(input.crashAfterMs);
      await announce("crash");
      process.exit(1); // in a worker thread this ends the thread only
    }
    const wait = input.victimPid === process.pid ? (input.victimWaitMs ?? 60_000) : input.waitMs;
    await sleep(wait, undefined, { signal: ctx.signal });
    return {};
  },
});
