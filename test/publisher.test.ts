// The hot-path JetStream publisher answers like js.publish: acks, duplicates, API errors, no stream.
import { JetStreamApiError } from "@nats-io/jetstream";
import test from "ava";
import { isWrongLastSequence, JetStreamPublisher, NoStreamError, subjects } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";

test("acks, duplicates, expected-sequence errors and subjects without a stream", async (t) => {
  const { nc } = await startTopology(t);
  const p = new JetStreamPublisher(nc, { timeoutMs: 2000 });
  const data = new TextEncoder().encode("{}");

  const first = await p.publish(subjects.result("d1", "extract.0"), data, { msgID: "t1" });
  t.is(first.stream, "DOCSWARM_RESULTS");
  t.false(first.duplicate);
  const again = await p.publish(subjects.result("d1", "extract.0"), data, { msgID: "t1" });
  t.true(again.duplicate);
  t.is(again.seq, first.seq);

  const err = await t.throwsAsync(p.publish(subjects.final("d1"), data, { expectLastSubjectSequence: 42 }));
  t.true(err instanceof JetStreamApiError);
  t.true(isWrongLastSequence(err));

  await t.throwsAsync(p.publish("nobody.stores.this", data), { instanceOf: NoStreamError });

  const many = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      p.publish(subjects.result("d2", "extract.0"), data, { msgID: `m${i}` }),
    ),
  );
  t.is(new Set(many.map((a) => a.seq)).size, 200);
  p.close();
  await t.throwsAsync(p.publish(subjects.result("d3", "extract.0"), data));
});
