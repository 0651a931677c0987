// docswarm on a three-node NATS cluster (loopback only), as when one machine is not enough: the
// topology with three replicas, agents and the coordinator connected to different nodes. Every
// JetStream leader (the meta leader, every stream and consumer) is first moved onto one node, which
// is then killed with SIGKILL mid-run, so every group elects a new leader at once while the client
// keeps submitting and reading results, and agents and the coordinator keep working. Client calls
// made during the elections must succeed (they wait them out), and every document still ends with
// exactly one result.
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { decodeJson, HEADERS, TaskResult } from "../schemas/index.ts";
import { connectNats, ensureTopology, STREAMS, subjects } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { startCluster } from "./support/cluster.ts";
import { knownDoc } from "./support/pdf.ts";
import { waitFor } from "./support/wait.ts";

type Group = { stream: string; consumer?: string };

async function leaderOf(jsm: JetStreamManager, g: Group): Promise<string | undefined> {
  return g.consumer
    ? (await jsm.consumers.info(g.stream, g.consumer)).cluster?.leader
    : (await jsm.streams.info(g.stream)).cluster?.leader;
}

/** Asks a group's leader to step down in favour of `preferred` (nats-server 2.11+) until it leads. */
async function moveLeader(nc: NatsConnection, jsm: JetStreamManager, preferred: string, g: Group) {
  const subject = g.consumer
    ? `$JS.API.CONSUMER.LEADER.STEPDOWN.${g.stream}.${g.consumer}`
    : `$JS.API.STREAM.LEADER.STEPDOWN.${g.stream}`;
  await waitFor(
    async () => {
      if ((await leaderOf(jsm, g)) === preferred) return true;
      await nc
        .request(subject, JSON.stringify({ placement: { preferred } }), { timeout: 2000 })
        .catch(() => {});
      return false;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: `${g.stream} ${g.consumer ?? ""} led by ${preferred}` },
  );
}

test("a three-node cluster loses no document and fails no call when the node leading every stream dies", async (t) => {
  t.timeout(180_000);
  const { nodes, urls } = await startCluster(t);

  const nc = await connectNats({ servers: urls, name: "cluster-test" });
  t.teardown(() => nc.close());
  // JetStream answers once the cluster has elected its meta leader.
  await waitFor(
    () =>
      ensureTopology(nc, { replicas: 3 }).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000, intervalMs: 250, message: "the topology created with three replicas" },
  );
  const jsm = await jetstreamManager(nc);
  t.is((await jsm.streams.info(STREAMS.tasks)).config.num_replicas, 3);

  // Different nodes first for different roles; each has the whole list to fail over to.
  const logs: string[] = [];
  const onLog = (level: string, msg: string, fields?: Record<string, unknown>) => {
    if (level === "error") logs.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  };
  const coordinator = await Coordinator.start({ servers: [urls[1]!, urls[0]!, urls[2]!], onLog });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: [urls[2]!, urls[0]!, urls[1]!], agents: 2, onLog });
  t.teardown(() => host.close({ abandonPulls: true }));

  // Every final publish attempt, stored or refused, and every one the done stream republished. An
  // attempt is counted by its route: an agent's raw publisher (a reply on its `.pub.` inbox), or
  // js.publish, which the raw publisher falls back to when no stream received its publish.
  const attempts = new Map<string, number>();
  const rawAttempts = new Map<string, number>();
  const endingDeliveries = new Map<string, number>();
  const republished = new Map<string, number>();
  nc.subscribe(subjects.final("*"), {
    callback: (_e, m) => {
      attempts.set(m.subject, (attempts.get(m.subject) ?? 0) + 1);
      if (m.reply?.includes(".pub.")) rawAttempts.set(m.subject, (rawAttempts.get(m.subject) ?? 0) + 1);
      // A one-chunk document's ending task (split) publishes no result: its final says its delivery.
      const summary = m.headers?.get(HEADERS.summary);
      if (summary) {
        const { docId, delivery } = JSON.parse(summary) as { docId: string; delivery: number };
        endingDeliveries.set(docId, Math.max(endingDeliveries.get(docId) ?? 0, delivery));
      }
    },
  });
  // The highest delivery of each document's ending task that reported a result: merge, or split
  // for a document of one chunk, which split ends itself (core subscriber: it sees every result
  // publish, also those the results stream drops as duplicates).
  const ends = (r: TaskResult) =>
    r.stage === "merge" ||
    (r.stage === "split" && (r.output as { outcome?: string } | undefined)?.outcome === "finished");
  nc.subscribe(subjects.resultsAll, {
    callback: (_e, m) => {
      const r = decodeJson(TaskResult, m.data);
      if (!r.ok || !ends(r.value)) return;
      endingDeliveries.set(
        r.value.docId,
        Math.max(endingDeliveries.get(r.value.docId) ?? 0, r.value.delivery),
      );
    },
  });
  nc.subscribe(subjects.doneAll, {
    callback: (_e, m) => {
      republished.set(m.subject, (republished.get(m.subject) ?? 0) + 1);
    },
  });

  const docs = await Promise.all(Array.from({ length: 10 }, (_, i) => knownDoc(`cluster-${i}`, 12 + i)));
  const client = new DocswarmClient(nc);
  for (const doc of docs.slice(0, 2)) await client.submit(doc.bytes, { docId: doc.docId });
  for (const doc of docs.slice(0, 2))
    assertDone(t, await client.result(doc.docId, { timeoutMs: 60_000 }), doc);

  // Every stream's and consumer's leader, and the meta leader, onto the victim.
  const victimName = "n1";
  const victim = nodes[1]!;
  const groups: Group[] = [];
  for await (const si of jsm.streams.list()) {
    groups.push({ stream: si.config.name });
    for await (const ci of jsm.consumers.list(si.config.name))
      if (ci.config.durable_name) groups.push({ stream: si.config.name, consumer: ci.name });
  }
  for (const g of groups) await moveLeader(nc, jsm, victimName, g);
  await nc
    .request("$JS.API.META.LEADER.STEPDOWN", JSON.stringify({ placement: { preferred: victimName } }), {
      timeout: 5000,
    })
    .catch(() => {});
  t.log(`${groups.length} streams and consumers led by ${victimName}; kill -9`);

  for (const doc of docs.slice(2, 6)) await client.submit(doc.bytes, { docId: doc.docId });
  process.kill(victim.serverPid!, "SIGKILL");
  const killedAt = Date.now();

  // While every group elects: read a stored result and submit, every 100 ms for 8 s.
  const failures: string[] = [];
  const calls: Array<Promise<unknown>> = [];
  const note = (what: string) => (err: Error) => failures.push(`${what}: ${err.name}: ${err.message}`);
  for (let i = 0; Date.now() < killedAt + 8000; i++) {
    calls.push(client.result(docs[0]!.docId, { timeoutMs: 60_000 }).catch(note(`result ${i}`)));
    if (i % 10 === 0) {
      const doc = docs[6 + i / 10];
      if (doc) calls.push(client.submit(doc.bytes, { docId: doc.docId }).catch(note(`submit ${doc.docId}`)));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(calls);
  t.deepEqual(failures, [], "every client call made during the elections succeeded");

  for (const doc of docs) {
    assertDone(t, await client.result(doc.docId, { timeoutMs: 90_000 }), doc);
    t.log(`${doc.docId} done ${Date.now() - killedAt} ms after the kill`);
  }
  const done = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.doneAll });
  t.is(done.state.messages, docs.length, "one stored final result per document");
  await waitFor(() => republished.size === docs.length, { message: "every stored final republished" });
  // The done stream keeps one per document by construction; what shows nothing was doubled is
  // that each document's final was stored and republished once, and published at most once per
  // route per delivery of its ending task (merge, or split for a one-chunk document). A publish
  // that no stream received (no responders: the done stream had no leader) goes again at once
  // through js.publish, in the same delivery. One whose publish got no answer fails (timeout) and
  // the task runs again: its next publish is refused if the first was stored. So an ending task
  // that ran during the elections may attempt more than once; one that ran before the kill
  // attempted once.
  // The ending task publishes its result after the final (and may retry it through an election):
  // wait for every document's to be seen before counting.
  await waitFor(() => docs.every((d) => (endingDeliveries.get(d.docId) ?? 0) >= 1), {
    message: "every document's ending result seen",
  });
  let retried = 0;
  for (const doc of docs) {
    const n = attempts.get(subjects.final(doc.docId)) ?? 0;
    const raw = rawAttempts.get(subjects.final(doc.docId)) ?? 0;
    const deliveries = endingDeliveries.get(doc.docId) ?? 0;
    t.is(republished.get(subjects.done(doc.docId)), 1, `${doc.docId}: republished finals`);
    t.true(
      n >= 1 && raw <= deliveries && n - raw <= deliveries,
      `${doc.docId}: ${n} final publishes (${raw} raw), ${deliveries} ending deliveries`,
    );
    if (deliveries > 1) retried++;
  }
  for (const doc of docs.slice(0, 2)) {
    t.is(attempts.get(subjects.final(doc.docId)), 1, `${doc.docId} (done before the kill): final publishes`);
    t.is(endingDeliveries.get(doc.docId), 1, `${doc.docId} (done before the kill): ending deliveries`);
  }
  t.log(`ending tasks run again after an unanswered final publish: ${retried}`);
  t.log(`errors logged by the coordinator and agents: ${logs.length}`);
  for (const l of logs.slice(0, 10)) t.log(l);
});
