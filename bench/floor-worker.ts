// A floor worker thread: the least code that does an agent's hops with nats.js alone (consume a
// task, publish its result with Nats-Msg-Id, ack), `slots` tasks at a time. No docswarm code.
import { parentPort, workerData } from "node:worker_threads";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { FLOOR } from "./floor-names.ts";

const { url, slots } = workerData as { url: string; slots: number };
const nc = await connect({ servers: url, name: "docswarm-bench-floor", noAsyncTraces: true });
const js = jetstream(nc);
const messages = await (await js.consumers.get(FLOOR.tasks, FLOOR.workers)).consume({
  max_messages: slots,
});
const encoder = new TextEncoder();
const running = new Set<Promise<void>>();

async function handle(m: { data: Uint8Array; ack(): void }): Promise<void> {
  const task = JSON.parse(new TextDecoder().decode(m.data)) as { taskId: string; index: number };
  const result = { taskId: task.taskId, index: task.index, status: "ok", finishedAt: Date.now() };
  await js.publish(FLOOR.resultSubject, encoder.encode(JSON.stringify(result)), { msgID: task.taskId });
  m.ack();
}

parentPort!.on("message", () => {
  void messages.close();
});
parentPort!.postMessage("ready");
for await (const m of messages) {
  const p: Promise<void> = handle(m)
    .catch(() => {})
    .finally(() => running.delete(p));
  running.add(p);
  if (running.size >= slots) await Promise.race(running);
}
await Promise.all(running);
await nc.drain();
