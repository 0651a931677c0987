// Each role's user, from `docswarm auth init`, against a real nats-server running the generated
// config, through plain nats.js clients (not docswarm's connection code): what a role needs works,
// and what it must not do is refused by the server with a permissions violation, leaving the
// swarm as it was. The same runs over TLS with the generated CA; a client that does not trust the CA,
// or has no credentials, is refused.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { connect, credsAuthenticator, headers, type NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { DocswarmClient } from "../client/index.ts";
import { readRecentDeadLetters } from "../dashboard/index.ts";
import { readSwarmStatus } from "../observability/index.ts";
import { FinalResult } from "../schemas/index.ts";
import { rolePermissions } from "../streams/index.ts";
import { Swarm } from "../swarm/index.ts";
import { assertDone } from "./support/assert.ts";
import { type AuthServer, plainClient, refusal, startAuthServer } from "./support/auth.ts";
import { knownDoc } from "./support/pdf.ts";

const RESULT_MS = 60_000;

async function swarmOn(t: ExecutionContext, s: AuthServer): Promise<Swarm> {
  const swarm = await Swarm.initialize({ natsUrl: s.url, authDir: s.dir, agents: 2 });
  t.teardown(() => swarm.shutdown());
  return swarm;
}

/** What must not move while a role tries what it may not do. */
async function snapshot(nc: NatsConnection) {
  const jsm = await jetstreamManager(nc);
  const out: Record<string, unknown> = {};
  for (const s of [
    "DOCSWARM_RESULTS",
    "DOCSWARM_DONE",
    "DOCSWARM_TASKS",
    "DOCSWARM_SUBMIT",
    "KV_docswarm-jobs",
    "KV_docswarm-leases",
    "OBJ_docswarm-docs",
    "OBJ_docswarm-results",
  ]) {
    const i = await jsm.streams.info(s);
    // The leader renews its lease all along: there, what counts is that only coordinators write it.
    out[s] =
      s === "KV_docswarm-leases"
        ? { messages: i.state.messages }
        : { messages: i.state.messages, last: i.state.last_seq, consumers: i.state.consumer_count };
  }
  return out;
}

async function expectRefused(
  t: ExecutionContext,
  nc: NatsConnection,
  what: string,
  attempt: () => unknown,
  subject?: string,
) {
  const err = await refusal(nc, attempt, subject);
  t.truthy(err, `${what}: expected a permissions violation`);
  if (err) t.regex(err.message, /permissions violation/i, what);
}

for (const tls of [false, true]) {
  const mode = tls ? "over TLS" : "without TLS";

  test(`submitter ${mode}: submits and reads its result, and nothing else`, async (t) => {
    const s = await startAuthServer(t, { tls });
    const swarm = await swarmOn(t, s);
    const nc = await plainClient(t, s, "submitter");
    const js = jetstream(nc);
    const doc = await knownDoc("auth-submit", 6);

    // Allowed: a JetStream publish of the bytes, the final result on docswarm.done.<docId> and by
    // message get from the done stream.
    const done = nc.subscribe(`docswarm.done.${doc.docId}`, { max: 1 });
    await nc.flush();
    const h = headers();
    h.set("Docswarm-Doc-Id", doc.docId);
    await js.publish("docswarm.submit", doc.bytes, { headers: h, msgID: `submit.${doc.docId}` });
    for await (const m of done) assertDone(t, FinalResult.parse(m.json()), doc);
    const stored = await (await jetstreamManager(nc)).streams.getMessage("DOCSWARM_DONE", {
      last_by_subj: `docswarm.done.${doc.docId}`,
    });
    assertDone(t, FinalResult.parse(stored!.json()), doc);

    // The docswarm client with the submitter's creds: results through a consumer on the done stream.
    const client = await DocswarmClient.connect(s.url, {
      creds: join(s.dir, "submitter.creds"),
      ...(tls && { tls: { ca: join(s.dir, "tls", "ca.pem") } }),
    });
    t.teardown(() => client.close());
    assertDone(t, await client.result(doc.docId, { timeoutMs: RESULT_MS }), doc);

    const admin = await plainClient(t, s, "admin");
    const before = await snapshot(admin);
    const none = new Uint8Array();
    await expectRefused(
      t,
      nc,
      "a task result",
      () => js.publish(`docswarm.result.${doc.docId}.extract.0`, none),
      `docswarm.result.${doc.docId}.extract.0`,
    );
    await expectRefused(
      t,
      nc,
      "a final result",
      () => js.publish(`docswarm.final.${doc.docId}`, none),
      `docswarm.final.${doc.docId}`,
    );
    await expectRefused(
      t,
      nc,
      "a final result, core",
      () => nc.publish("docswarm.final.other", none),
      "docswarm.final.other",
    );
    await expectRefused(
      t,
      nc,
      "a task",
      () => js.publish("docswarm.task.extract.normal", none),
      "docswarm.task.extract.normal",
    );
    await expectRefused(
      t,
      nc,
      "a DLQ entry",
      () => js.publish("docswarm.dlq.extract", none),
      "docswarm.dlq.extract",
    );
    await expectRefused(
      t,
      nc,
      "an event",
      () => nc.publish("docswarm.events.doc.done.x", none),
      "docswarm.events.doc.done.x",
    );
    await expectRefused(
      t,
      nc,
      "a job record",
      () => js.publish(`$KV.docswarm-jobs.${doc.docId}`, none),
      `$KV.docswarm-jobs.${doc.docId}`,
    );
    await expectRefused(
      t,
      nc,
      "the leader lease",
      () => js.publish("$KV.docswarm-leases.leader.coordinator", none),
      "$KV.docswarm-leases.leader.coordinator",
    );
    await expectRefused(t, nc, "a KV bucket (client)", async () =>
      (await new Kvm(nc).open("docswarm-pipelines")).put("p", none),
    );
    const docs = await new Objm(js).open("docswarm-docs");
    await expectRefused(t, nc, "deleting an object", () => docs.delete(`${doc.docId}.x`));
    await expectRefused(
      t,
      nc,
      "object metadata",
      () => js.publish("$O.docswarm-docs.M.bmFtZQ==", none),
      "$O.docswarm-docs.M.bmFtZQ==",
    );
    await expectRefused(t, nc, "purging the docs store", () =>
      jetstreamManager(nc).then((m) => m.streams.purge("OBJ_docswarm-docs")),
    );
    await expectRefused(t, nc, "reading document bytes", () =>
      jetstreamManager(nc).then((m) => m.direct.getMessage("OBJ_docswarm-docs", { seq: 1 })),
    );
    for (const stream of ["DOCSWARM_TASKS", "DOCSWARM_SUBMIT", "DOCSWARM_RESULTS"]) {
      await expectRefused(t, nc, `a consumer on ${stream}`, () =>
        jetstreamManager(nc).then((m) =>
          m.consumers.add(stream, { durable_name: "mine", ack_policy: "explicit" as never }),
        ),
      );
    }
    await expectRefused(t, nc, "deleting the done stream", () =>
      jetstreamManager(nc).then((m) => m.streams.delete("DOCSWARM_DONE")),
    );
    await expectRefused(t, nc, "listening to tasks", () => nc.subscribe("docswarm.task.>"));
    await expectRefused(t, nc, "listening to everyone's replies", () => nc.subscribe("_INBOX.>"));
    t.deepEqual(await snapshot(admin), before, "nothing changed in the swarm");
    t.is((await swarm.status()).documents.length, 0);
  });

  test(`agent, observer and coordinator ${mode}: each refused what is not its role`, async (t) => {
    const s = await startAuthServer(t, { tls });
    await swarmOn(t, s);
    const admin = await plainClient(t, s, "admin");
    const before = await snapshot(admin);
    const none = new Uint8Array();

    const agent = await plainClient(t, s, "agent");
    await expectRefused(
      t,
      agent,
      "agent submits",
      () => jetstream(agent).publish("docswarm.submit", none),
      "docswarm.submit",
    );
    // Agents may publish exactly docswarm.submit.{high,normal,low}: triage moves a plain submission
    // there (the submitter test above goes through it). Nothing else under docswarm.submit.
    t.deepEqual(
      rolePermissions("agent", "agent").pub.allow.filter((s) => s.startsWith("docswarm.submit")),
      ["docswarm.submit.high", "docswarm.submit.normal", "docswarm.submit.low"],
    );
    await expectRefused(
      t,
      agent,
      "agent submits at another level",
      () => agent.publish("docswarm.submit.urgent", none),
      "docswarm.submit.urgent",
    );
    await expectRefused(
      t,
      agent,
      "agent submits a DAG job",
      () => agent.publish("docswarm.jobs.submit", none),
      "docswarm.jobs.submit",
    );
    await expectRefused(
      t,
      agent,
      "agent takes the leader lease",
      () => jetstream(agent).publish("$KV.docswarm-leases.leader.coordinator", none),
      "$KV.docswarm-leases.leader.coordinator",
    );
    await expectRefused(
      t,
      agent,
      "agent writes a DLQ entry",
      () => agent.publish("docswarm.dlq.extract", none),
      "docswarm.dlq.extract",
    );
    await expectRefused(t, agent, "agent deletes a stream", () =>
      jetstreamManager(agent).then((m) => m.streams.delete("DOCSWARM_RESULTS")),
    );
    await expectRefused(
      t,
      agent,
      "agent consumes the coordinator's results",
      () => agent.publish("$JS.API.CONSUMER.MSG.NEXT.DOCSWARM_RESULTS.coordinator", none),
      "$JS.API.CONSUMER.MSG.NEXT.DOCSWARM_RESULTS.coordinator",
    );

    const observer = await plainClient(t, s, "observer");
    // Allowed: the whole status read, and a consumer on the events stream (docswarm watch).
    const observerJsm = await jetstreamManager(observer);
    const status = await readSwarmStatus(observerJsm);
    t.true(status.agents.length >= 1);
    t.deepEqual(await readRecentDeadLetters(observerJsm, 20), [], "the dashboard's dead-letter list");
    const events = await jetstream(observer).consumers.get("DOCSWARM_EVENTS", {
      filter_subjects: ["docswarm.events.>"],
    });
    await events.delete();
    for (const subject of [
      "docswarm.submit",
      "docswarm.jobs.submit",
      "docswarm.task.extract.normal",
      "docswarm.result.x.extract.0",
      "docswarm.final.x",
      "docswarm.events.doc.done.x",
      "docswarm.dlq.extract",
      "$KV.docswarm-agents.x",
      "$O.docswarm-docs.C.x",
      "$JS.API.STREAM.PURGE.DOCSWARM_DONE",
      "$JS.API.STREAM.DELETE.DOCSWARM_DONE",
      "$JS.API.CONSUMER.DELETE.DOCSWARM_RESULTS.coordinator",
      // Submissions and tasks carry document bytes (and may carry a password): counts only.
      "$JS.API.STREAM.MSG.GET.DOCSWARM_SUBMIT",
      "$JS.API.DIRECT.GET.DOCSWARM_SUBMIT",
      "$JS.API.STREAM.MSG.GET.DOCSWARM_TASKS",
      "$JS.API.DIRECT.GET.DOCSWARM_TASKS",
      "$JS.API.CONSUMER.CREATE.DOCSWARM_SUBMIT",
      "$JS.API.CONSUMER.CREATE.DOCSWARM_TASKS",
      "$JS.API.DIRECT.GET.OBJ_docswarm-docs",
      // Dead letters are copies of submissions and tasks: the dashboard lists them from events.
      "$JS.API.STREAM.MSG.GET.DOCSWARM_DLQ",
      "$JS.API.DIRECT.GET.DOCSWARM_DLQ",
      "$JS.API.DIRECT.GET.DOCSWARM_DLQ.docswarm.dlq.extract",
      "$JS.API.CONSUMER.CREATE.DOCSWARM_DLQ",
    ]) {
      await expectRefused(t, observer, `observer publishes on ${subject}`, () =>
        observer.publish(subject, none),
      );
    }

    const coordinator = await plainClient(t, s, "coordinator");
    await expectRefused(
      t,
      coordinator,
      "coordinator submits",
      () => coordinator.publish("docswarm.submit", none),
      "docswarm.submit",
    );
    await expectRefused(
      t,
      coordinator,
      "coordinator pulls agents' tasks",
      () => coordinator.publish("$JS.API.CONSUMER.MSG.NEXT.DOCSWARM_TASKS.extract-normal", none),
      "$JS.API.CONSUMER.MSG.NEXT.DOCSWARM_TASKS.extract-normal",
    );
    t.deepEqual(await snapshot(admin), before, "nothing changed in the swarm");
  });

  test(`connections without credentials, or with another operator's, are refused ${mode}`, async (t) => {
    const s = await startAuthServer(t, { tls });
    const tlsOpts = tls ? { tls: { caFile: join(s.dir, "tls", "ca.pem") } } : {};
    await t.throwsAsync(connect({ servers: s.url, ...tlsOpts, maxReconnectAttempts: 0 }), {
      message: /authorization|authentication/i,
    });
    const other = await startAuthServer(t, { tls });
    await t.throwsAsync(
      connect({
        servers: s.url,
        ...tlsOpts,
        authenticator: credsAuthenticator(readFileSync(join(other.dir, "submitter.creds"))),
      }),
      { message: /authorization|authentication/i },
    );
  });
}

test("over TLS, a client that does not trust the generated CA is refused, as is one without TLS", async (t) => {
  const s = await startAuthServer(t, { tls: true });
  const creds = credsAuthenticator(readFileSync(join(s.dir, "submitter.creds")));
  const err = await t.throwsAsync(connect({ servers: s.url, authenticator: creds }));
  t.regex(
    `${err?.message} ${(err?.cause as Error | undefined)?.message ?? ""}`,
    /certificate|self.signed|TLS/i,
  );
  // Under TLS the plain CONNECT never happens: the server requires the handshake first.
  const other = await startAuthServer(t, { tls: true });
  const wrong = await t.throwsAsync(
    connect({ servers: s.url, authenticator: creds, tls: { caFile: join(other.dir, "tls", "ca.pem") } }),
  );
  t.regex(
    `${wrong?.message} ${(wrong?.cause as Error | undefined)?.message ?? ""}`,
    /certificate|signature|TLS/i,
  );
});
