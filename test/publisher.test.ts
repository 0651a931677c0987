// The hot-path JetStream publisher answers like js.publish: acks, duplicates, API errors, no stream.
import { JetStreamApiError } from "@nats-io/jetstream";
import test from "ava";
import {
  isWrongLastSequence,
  JetStreamPublisher,
  NoStreamError,
  STREAMS,
  subjects,
} from "../streams/index.ts";
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

test("direct gets of a subject's last message, and an expected sequence over a subject family", async (t) => {
  const { nc } = await startTopology(t);
  const p = new JetStreamPublisher(nc, { timeoutMs: 2000 });
  t.teardown(() => p.close());
  const body = new TextEncoder().encode('{"final":1}');
  const family = {
    expectLastSubjectSequence: 0,
    expectLastSubjectSequenceSubject: subjects.doneFamily("f1"),
  };

  const stored = await p.publish(subjects.final("f1"), body, { msgID: "f1.r1.final", ...family });
  const refused = await t.throwsAsync(
    p.publish(subjects.final("f1"), body, { msgID: "f1.r2.final", ...family }),
  );
  t.true(isWrongLastSequence(refused));

  const last = await p.lastBySubject(STREAMS.done, subjects.done("f1"));
  t.is(last?.seq, stored.seq);
  t.is(last?.headers?.get("Nats-Msg-Id"), "f1.r1.final");
  t.is(new TextDecoder().decode(last?.data), '{"final":1}');
  t.is(await p.lastBySubject(STREAMS.done, subjects.done("none")), null);
  await t.throwsAsync(p.lastBySubject("NO_SUCH_STREAM", "x"), { instanceOf: NoStreamError });
});
