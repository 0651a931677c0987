// Fencing on the server (issue 16): a leader stopped with a job write pending — SIGSTOP on a
// `docswarm coordinator` child process, right after that write passed the leader's local fence —
// loses its lease; a standby is elected with a higher term and raises the term of every running
// job before it consumes. Resumed (SIGCONT), the old leader sends its write: the server refuses it
// (compare-and-set on a revision the new term replaced), the old leader finds the newer term and
// stands down. Every document ends exactly once.
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { decodeJson, Job, LeaderLease, SwarmEvent } from "../schemas/index.ts";
import { BUCKETS, ensureTopology, LEADER_KEY, STREAMS, subjects } from "../streams/index.ts";
import { denseDoc } from "./support/pdf.ts";
import { type RoleProcess, spawnRole, stopAll } from "./support/roles.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("a leader paused with a job write pending is refused by the server after a standby took over", async (t) => {
  t.timeout(180_000);
  const { nc, url } = await startTopology(t, { coordinatorAckWaitMs: 1000 });
  const coordinators: RoleProcess[] = [];
  t.teardown(async () => {
    // A stopped process cannot act on SIGTERM: let it go on first.
    for (const c of coordinators) if (c.child.exitCode === null) c.kill("SIGCONT");
    await stopAll(coordinators, 3000);
  });
  const start = () => {
    const p = spawnRole("coordinator", url, [], { DOCSWARM_CHAOS: "1" });
    coordinators.push(p);
    return p;
  };
  const first = start();
  await first.ready;
  const leases = await new Kvm(nc).open(BUCKETS.leases);
  const lease = async () => {
    const e = await leases.get(LEADER_KEY);
    const l = e?.operation === "PUT" ? decodeJson(LeaderLease, e.value) : undefined;
    return l?.ok ? { ...l.value, term: l.value.term || e!.revision } : undefined;
  };
  const old = await waitFor(async () => {
    const l = await lease();
    return l && l.pid === first.pid ? l : undefined;
  });
  const standby = start();
  await standby.ready;
  const host = await AgentHost.start({
    servers: url,
    agents: 2,
    processing: { chunkMaxPages: 2, busyWholeDocumentMaxPages: 0 },
  });
  t.teardown(() => host.close({ abandonPulls: true }));

  // What happens on the wire: the old leader's job writes after it resumed, and every stored final.
  const elected: number[] = [];
  const stored = new Map<string, number>();
  let resumedAt = 0;
  const lateWrites: Array<{ docId: string; term: number | undefined; expected: string | undefined }> = [];
  nc.subscribe("docswarm.>", {
    callback: (_e, m) => {
      if (m.subject.startsWith("docswarm.done.")) {
        const id = m.subject.slice("docswarm.done.".length);
        stored.set(id, (stored.get(id) ?? 0) + 1);
      } else if (m.subject.startsWith("docswarm.events.coordinator.elected")) {
        const e = decodeJson(SwarmEvent, m.data);
        if (e.ok && e.value.type === "coordinator.elected") elected.push(e.value.term);
      }
    },
  });
  nc.subscribe("$KV.docswarm-jobs.>", {
    callback: (_e, m) => {
      if (!resumedAt) return;
      const job = decodeJson(Job, m.data);
      if (job.ok && job.value.term === old.term)
        lateWrites.push({
          docId: job.value.docId,
          term: job.value.term,
          expected: m.headers?.get("Nats-Expected-Last-Subject-Sequence"),
        });
    },
  });
  // Stopped from the callback that hears the hold: its write has passed the local fence.
  let held: { at: number } | undefined;
  nc.subscribe(`docswarm.chaos.holding.${first.pid}`, {
    callback: () => {
      first.kill("SIGSTOP");
      held = { at: Date.now() };
    },
  });
  await nc.flush();
  const armed = await nc.request(
    `docswarm.chaos.pid.${first.pid}`,
    new TextEncoder().encode(JSON.stringify({ op: "hold-job-write", ms: 500 })),
  );
  t.true(armed.json<{ armed?: boolean }>().armed, "the hold is armed");

  const docs = await Promise.all(
    Array.from({ length: 6 }, (_, i) => denseDoc(`fence-${i}`, 6, { seed: 300 + i })),
  );
  const client = new DocswarmClient(nc);
  for (const d of docs) await client.submit(d.bytes, { docId: d.docId });
  await waitFor(() => held, { message: "the leader holding a job write", timeoutMs: 60_000 });

  // The standby takes over with a higher term (raising every running job's term first), and works.
  const next = await waitFor(
    async () => {
      const l = await lease();
      return l && l.pid === standby.pid && elected.includes(l.term) ? l : undefined;
    },
    { message: "the standby elected", timeoutMs: 30_000 },
  );
  t.true(next.term > old.term, `term ${next.term} after ${old.term}`);
  const raised = standby.logs.find(
    (l) => l.msg === "running jobs fenced with the new term" && l.term === next.term,
  );
  t.true(Number(raised?.jobs) >= 1, "the new leader raised the running jobs' term before consuming");
  resumedAt = Date.now();
  first.kill("SIGCONT");

  for (const d of docs) {
    const r = await client.result(d.docId, { timeoutMs: 60_000 });
    t.is(r.status, "done", `${d.docId}: ${r.error?.message}`);
    t.deepEqual(
      r.pages.map((p) => p.text.split("\n")[0]),
      d.pages.map((_, n) => `Page ${n + 1} of ${d.docId}`),
    );
  }
  // The old leader's pending write went out, and the server refused it: it said so and stood down.
  const refusal = await waitFor(
    () => first.logs.find((l) => String(l.msg).startsWith("job write refused: a newer term wrote the job")),
    { message: "the old leader's refused write", timeoutMs: 30_000 },
  );
  t.regex(String(refusal.err), /the server refused our write at revision \d+/);
  t.is(refusal.term, old.term);
  t.true(Number(refusal.jobTerm) >= next.term);
  t.true(lateWrites.length >= 1, "the old leader's write was sent after it resumed");
  const jobs = await new Kvm(nc).open(BUCKETS.jobs);
  for (const w of lateWrites) {
    const e = await jobs.get(w.docId);
    const stored = e?.operation === "PUT" ? decodeJson(Job, e.value) : undefined;
    if (stored?.ok) t.not(stored.value.term, old.term, `${w.docId}: the old term's write did not land`);
  }
  await waitFor(() => first.logs.some((l) => l.msg === "deposed"), { message: "the old leader deposed" });
  t.true((await lease())?.pid === standby.pid, "the standby still leads");

  // Exactly once: one stored final per document, republished once each.
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.doneAll });
  t.is(Object.keys(info.state.subjects ?? {}).length, docs.length);
  await waitFor(() => docs.every((d) => stored.has(d.docId)), { message: "every final republished" });
  for (const d of docs) t.is(stored.get(d.docId), 1, `${d.docId}: finals stored`);
  t.log(
    `held at ${held!.at}; old term ${old.term}, new ${next.term}; late writes of the old term: ${lateWrites.length}; ${refusal.err}`,
  );
});

test("a leases bucket created again (terms start over) does not stop the next leader: its term moves past the jobs'", async (t) => {
  t.timeout(120_000);
  const { nc, url } = await startTopology(t);
  const jsm = await jetstreamManager(nc);
  // Split only: the document's job is recorded and waits for extract agents.
  const splitter = await AgentHost.start({
    servers: url,
    agents: 1,
    stages: ["split"],
    processing: { chunkMaxPages: 1, busyWholeDocumentMaxPages: 0 },
  });
  t.teardown(() => splitter.close({ abandonPulls: true }));
  const client = new DocswarmClient(nc);
  const doc = await denseDoc("terms-reset", 2);
  await client.submit(doc.bytes, { docId: doc.docId });
  const jobs = await new Kvm(nc).open(BUCKETS.jobs);
  const recorded = await waitFor(async () => {
    const e = await jobs.get(doc.docId);
    const j = e?.operation === "PUT" ? decodeJson(Job, e.value) : undefined;
    return j?.ok && j.value.status === "running" ? { job: j.value, revision: e!.revision } : undefined;
  });
  // Written by a leader of the bucket's earlier life, at a term its new revisions will not reach soon.
  const highTerm = 100_000;
  await jobs.update(doc.docId, JSON.stringify({ ...recorded.job, term: highTerm }), recorded.revision);
  await jsm.streams.delete(`KV_${BUCKETS.leases}`);
  await ensureTopology(nc);

  const logs: string[] = [];
  const coordinator = await Coordinator.start({
    servers: url,
    onLog: (level, msg) => {
      if (level === "warn" || level === "error") logs.push(`${level} ${msg}`);
    },
  });
  t.teardown(() => coordinator.close());
  const extractors = await AgentHost.start({
    servers: url,
    agents: 1,
    stages: ["extract", "merge"],
    processing: { chunkMaxPages: 1, busyWholeDocumentMaxPages: 0 },
  });
  t.teardown(() => extractors.close({ abandonPulls: true }));
  const final = await client.result(doc.docId, { timeoutMs: 60_000 });
  t.is(final.status, "done", JSON.stringify(final.error));
  t.true(coordinator.term > highTerm, `term ${coordinator.term}`);
  t.true(
    logs.some((l) => l.includes("the leases bucket was re-created")),
    logs.join("\n"),
  );
});
