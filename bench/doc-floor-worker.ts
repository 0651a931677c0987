// A document floor worker thread: an agent's hops for one small document with nats.js alone and
// no extraction. It takes a submission (the document's bytes) from the work queue, publishes a
// result as large as docswarm's final with Nats-Msg-Id, and acks. No docswarm code.
import { parentPort, workerData } from "node:worker_threads";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DOC_FLOOR } from "./floor-names.ts";

const { url } = workerData as { url: string };
const nc = await connect({ servers: url, name: "docswarm-bench-doc-floor", noAsyncTraces: true });
const js = jetstream(nc);
// One document at a time and one delivered ahead, as an agent with one slot and its prefetch.
const messages = await (await js.consumers.get(DOC_FLOOR.submissions, DOC_FLOOR.workers)).consume({
  max_messages: 2,
});
const encoder = new TextEncoder();

function result(docId: string, bytes: number): Uint8Array {
  const head = encoder.encode(`{"docId":${JSON.stringify(docId)},"text":"`);
  const body = new Uint8Array(Math.max(bytes, head.length + 2));
  body.set(head);
  body.fill(0x61, head.length, body.length - 2);
  body.set(encoder.encode('"}'), body.length - 2);
  return body;
}

parentPort!.on("message", () => {
  void messages.close();
});
parentPort!.postMessage("ready");
for await (const m of messages) {
  try {
    const docId = m.headers?.get("Nats-Msg-Id") ?? "";
    const bytes = Number(m.headers?.get(DOC_FLOOR.resultBytes) ?? 0);
    await js.publish(DOC_FLOOR.resultSubject, result(docId, bytes), { msgID: docId });
    m.ack();
  } catch {
    m.nak();
  }
}
await nc.drain();
