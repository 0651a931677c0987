// Coordinator leader election: one leader at a time through the leases bucket, the term grows with
// every new leader, a deposed leader is fenced, and a standby takes over when the leader dies.
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import test from "ava";
import { NotLeaderError } from "../coordinator/errors.ts";
import { LeaderElection } from "../coordinator/leader.ts";
import { BUCKETS, jsonBytes, LEADER_KEY } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

async function candidates(nc: Awaited<ReturnType<typeof startTopology>>["nc"], n: number) {
  const kv = await new Kvm(nc).open(BUCKETS.leases);
  const js = jetstream(nc);
  const log: string[] = [];
  const list = Array.from({ length: n }, (_, i) => {
    const id = `cand-${i}`;
    return new LeaderElection({
      js,
      kv,
      candidateId: id,
      ttlMs: 1500,
      renewMs: 300,
      pollMs: 100,
      onElected: (term) => {
        log.push(`${id} elected ${term}`);
      },
      onDeposed: (term, reason) => {
        log.push(`${id} deposed ${term}: ${reason}`);
      },
    });
  });
  return { kv, list, log };
}

test("exactly one candidate leads; a standby takes over when the leader stops renewing, with a higher term", async (t) => {
  const { nc } = await startTopology(t);
  const { list, log } = await candidates(nc, 3);
  t.teardown(() => Promise.all(list.map((c) => c.close())));
  await Promise.all(list.map((c) => c.start()));
  const leaders = () => list.filter((c) => c.isLeader);
  await waitFor(() => leaders().length === 1, { message: "one leader" });
  const first = leaders()[0]!;
  const firstTerm = first.term;
  t.true(firstTerm > 0);
  // Every candidate sees the same lease, naming the leader and its term.
  const lease = await list[1]!.current();
  t.is(lease?.holderId, first.candidateId);
  t.is(lease?.term, firstTerm);

  // The leader "crashes": it stops renewing and does not release the lease.
  await first.close({ release: false });
  t.throws(() => first.fence(), { instanceOf: NotLeaderError });
  const second = await waitFor(() => leaders()[0], { message: "a new leader", timeoutMs: 10_000 });
  t.not(second.candidateId, first.candidateId);
  t.true(second.term > firstTerm, "the term grows with every new leader");
  t.notThrows(() => second.fence());
  t.is(leaders().length, 1);
  t.log(log.join("\n"));
});

test("a released lease is taken over at once, and a leader whose lease was overwritten is deposed and fenced", async (t) => {
  const { nc } = await startTopology(t);
  const { kv, list, log } = await candidates(nc, 2);
  t.teardown(() => Promise.all(list.map((c) => c.close())));
  await Promise.all(list.map((c) => c.start()));
  const a = await waitFor(() => list.find((c) => c.isLeader), { message: "a leader" });
  const b = list.find((c) => c !== a)!;
  await a.close(); // graceful: deletes the lease
  await waitFor(() => b.isLeader, { message: "the standby to lead after a release" });

  // Someone else writes the lease (as if b's lease had lapsed and another coordinator won):
  // b's next renewal finds a revision it did not write and b steps down.
  const e = await kv.get(LEADER_KEY);
  await kv.update(LEADER_KEY, jsonBytes({ intruder: true }), e!.revision);
  await waitFor(() => log.some((l) => l.startsWith(`${b.candidateId} deposed`)), { message: "b deposed" });
  t.false(b.isLeader);
  t.throws(() => b.fence(), { instanceOf: NotLeaderError });
});
