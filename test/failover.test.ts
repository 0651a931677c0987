// Coordinator failover with real crashes: `docswarm coordinator` child processes, the leader killed
// with SIGKILL at chosen points of its work — right after it released a merge (the job updated, the
// result not yet acked), right after it announced a document done (its cleanup not yet run), and in
// the middle of a stream of progress — while documents are in flight. A standby takes over from the
// durable results consumer each time. Every document ends with one final result, and what was
// attempted shows why: each document's final was published once (no merge ran twice, so the
// at-most-once check had nothing to refuse), and the dead leaders' unfinished cleanups were done.
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { decodeJson, LeaderLease, SwarmEvent } from "../schemas/index.ts";
import { BUCKETS, LEADER_KEY, STREAMS, subjects } from "../streams/index.ts";
import { denseDoc } from "./support/pdf.ts";
import { type RoleProcess, spawnRole, stopAll } from "./support/roles.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

type KillPoint = { name: string; matches: (subject: string) => boolean };

test("the leader killed with SIGKILL at chosen points: a standby takes over, nothing lost, nothing done twice", async (t) => {
  t.timeout(180_000);
  const { nc, url } = await startTopology(t, { coordinatorAckWaitMs: 1000 });
  const coordinators: RoleProcess[] = [];
  t.teardown(() => stopAll(coordinators, 3000));
  const startCoordinator = () => {
    const p = spawnRole("coordinator", url);
    coordinators.push(p);
    return p.ready;
  };
  await startCoordinator();
  await startCoordinator();
  // Three chunks per document, so the coordinator counts chunks and releases each merge.
  const host = await AgentHost.start({
    servers: url,
    agents: 2,
    processing: { chunkMaxPages: 2, busyWholeDocumentMaxPages: 0 },
  });
  t.teardown(() => host.close({ abandonPulls: true }));
  const leases = await new Kvm(nc).open(BUCKETS.leases);
  const leaderProcess = async () => {
    const e = await leases.get(LEADER_KEY);
    const lease = e?.operation === "PUT" ? decodeJson(LeaderLease, e.value) : undefined;
    return lease?.ok
      ? coordinators.find((c) => c.pid === lease.value.pid && c.child.exitCode === null)
      : undefined;
  };

  // What was attempted, seen on core subjects: every final publish (stored or refused), every merge
  // run (its result), every final the done stream stored (republished), every event.
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const attempts = new Map<string, number>();
  const merges = new Map<string, number>();
  const stored = new Map<string, number>();
  const doneEvents = new Map<string, number>();
  const elected: string[] = [];
  let armed: { point: KillPoint; victim: RoleProcess } | undefined;
  const killed: Array<{ point: string; pid: number; subject: string }> = [];
  nc.subscribe("docswarm.>", {
    callback: (_e, m) => {
      const s = m.subject;
      if (armed?.point.matches(s)) {
        // Killed from the callback that saw the leader's publish: it is between that and its next step.
        armed.victim.kill("SIGKILL");
        killed.push({ point: armed.point.name, pid: armed.victim.pid, subject: s });
        armed = undefined;
      }
      if (s.startsWith("docswarm.final.")) count(attempts, s.slice("docswarm.final.".length));
      else if (s.startsWith("docswarm.done.")) count(stored, s.slice("docswarm.done.".length));
      else if (/^docswarm\.result\.[^.]+\.merge\./.test(s)) count(merges, s.split(".")[2]!);
      else if (s.startsWith("docswarm.events.")) {
        const e = decodeJson(SwarmEvent, m.data);
        if (e.ok && e.value.type === "doc.done") count(doneEvents, e.value.docId);
        if (e.ok && e.value.type === "coordinator.elected") elected.push(e.value.coordinatorId);
      }
    },
  });

  // Six pages each: three chunks of two.
  const six = await Promise.all(
    Array.from({ length: 12 }, (_, i) => denseDoc(`crash-${i}`, 6, { seed: 200 + i })),
  );
  const client = new DocswarmClient(nc);
  const points: KillPoint[] = [
    { name: "after releasing a merge", matches: (s) => s.startsWith("docswarm.task.merge.") },
    { name: "after announcing a document done", matches: (s) => s.startsWith("docswarm.events.doc.done.") },
    { name: "amid progress", matches: (s) => s.startsWith("docswarm.events.doc.progress.") },
  ];
  for (const [wave, point] of points.entries()) {
    const victim = await waitFor(leaderProcess, {
      message: `a leader before wave ${wave + 1}`,
      timeoutMs: 30_000,
    });
    armed = { point, victim };
    const electedBefore = elected.length;
    for (const d of six.slice(wave * 4, wave * 4 + 4)) await client.submit(d.bytes, { docId: d.docId });
    await waitFor(() => killed.length > wave, { message: `the kill ${point.name}`, timeoutMs: 60_000 });
    t.is(await victim.exited, "SIGKILL", `the leader died at '${point.name}'`);
    await startCoordinator();
    await waitFor(() => elected.length > electedBefore, { message: "a standby elected", timeoutMs: 30_000 });
  }

  for (const d of six) {
    const r = await client.result(d.docId, { timeoutMs: 60_000 });
    t.is(r.status, "done", `${d.docId}: ${r.error?.message}`);
    t.deepEqual(
      r.pages.map((p) => p.text.split("\n")[0]),
      d.pages.map((_, n) => `Page ${n + 1} of ${d.docId}`),
    );
  }
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.doneAll });
  t.is(Object.keys(info.state.subjects ?? {}).length, six.length);
  await waitFor(() => six.every((d) => stored.has(d.docId)), { message: "every stored final republished" });
  // doc.done follows the final result (the leader announces it once it has the merge's result).
  await waitFor(() => six.every((d) => doneEvents.has(d.docId)), {
    message: "a doc.done event per document",
  });
  for (const d of six) {
    // The causes, not the stream's guarantee: one merge ran, one final was attempted, one stored.
    t.is(merges.get(d.docId), 1, `${d.docId}: merge runs`);
    t.is(attempts.get(d.docId), 1, `${d.docId}: final publishes attempted`);
    t.is(stored.get(d.docId), 1, `${d.docId}: finals stored`);
    t.true((doneEvents.get(d.docId) ?? 0) >= 1, `${d.docId}: doc.done (at least once)`);
  }
  // The cleanups a dead leader left undone were done by its successor: no task results are left.
  await waitFor(
    async () => {
      const results = await jsm.streams.info(STREAMS.results, { subjects_filter: subjects.resultsAll });
      return six.every((d) =>
        Object.keys(results.state.subjects ?? {}).every((s) => !s.includes(`.${d.docId}.`)),
      );
    },
    { message: "every finished document's task results purged", timeoutMs: 30_000 },
  );
  t.deepEqual(
    killed.map((k) => k.point),
    points.map((p) => p.name),
  );
  t.log(killed.map((k) => `${k.point}: pid ${k.pid} on ${k.subject}`).join("\n"));
  t.log(
    `doc.done events: ${[...doneEvents.values()].reduce((a, b) => a + b, 0)} for ${six.length} documents (at least once)`,
  );
});
