// Small pure pieces of the reliability work: subject matching for the unknown-stage sweeper, the
// lease timing invariants, and the chaos report's percentiles.
import test from "ava";
import { leaseTaskId, leaseTiming } from "../agents/leases.ts";
import { subjectMatches } from "../coordinator/unknown-stages.ts";
import { stats } from "../drills/chaos/run.ts";

test("subject filters match like NATS subjects", (t) => {
  t.true(subjectMatches("docswarm.task.extract.high", "docswarm.task.extract.high"));
  t.false(subjectMatches("docswarm.task.extract.high", "docswarm.task.extract.low"));
  t.true(subjectMatches("docswarm.task.*.high", "docswarm.task.ocr.high"));
  t.false(subjectMatches("docswarm.task.*", "docswarm.task.ocr.high"));
  t.true(subjectMatches("docswarm.>", "docswarm.task.ocr.high"));
  t.false(subjectMatches("docswarm.task.ocr.high.>", "docswarm.task.ocr.high"));
});

for (const ackWaitMs of [500, 2000, 5000, 30_000]) {
  test(`lease timing for an ack wait of ${ackWaitMs} ms: a dead holder's lease is stale on redelivery, a live one's is not`, (t) => {
    const l = leaseTiming(ackWaitMs);
    const wpiEvery = ackWaitMs / 3;
    // Redelivery after a kill comes at least (ack wait - one in-progress-ack period) after the last renewal.
    t.true(ackWaitMs - wpiEvery > l.staleMs);
    // A holder renewing on schedule is always fresher than the stale limit.
    t.true(l.renewMs < l.staleMs);
    // Tasks get a lease before they can be redelivered at all.
    t.true(l.firstAfterMs + l.renewMs < ackWaitMs);
    t.true(l.ttlMs > l.staleMs);
  });
}

test("tasks are leased under their message id when it is a task id, else stream and sequence", (t) => {
  t.is(leaseTaskId("doc.r1.extract.3", "DOCSWARM_TASKS", 9), "doc.r1.extract.3");
  t.is(leaseTaskId(undefined, "DOCSWARM_SUBMIT", 12), "DOCSWARM_SUBMIT-12");
  t.is(leaseTaskId("has spaces!", "DOCSWARM_TASKS", 4), "DOCSWARM_TASKS-4");
});

test("chaos percentiles", (t) => {
  t.deepEqual(stats([]), { samples: 0, p50Ms: null, p99Ms: null, maxMs: null });
  const s = stats(Array.from({ length: 100 }, (_, i) => i + 1));
  t.is(s.p50Ms, 50);
  t.is(s.p99Ms, 99);
  t.is(s.maxMs, 100);
});
