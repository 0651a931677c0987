// Where a document without a final result got stuck, for the drill's report: its job record, the
// results stored for it, whether its submission is still queued, and what the roles logged about it.
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeJson, Job, TaskResult } from "../../schemas/index.ts";
import { BUCKETS, COORDINATOR_CONSUMER, readSubject, STREAMS, subjects } from "../../streams/index.ts";
import type { Role } from "./faults.ts";
import type { Observers } from "./observe.ts";

export async function diagnose(nc: NatsConnection, docId: string, observers: Observers, roles: Role[]) {
  const out: string[] = [];
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  try {
    const e = await (await new Kvm(nc).open(BUCKETS.jobs)).get(docId);
    const j = e?.operation === "PUT" ? decodeJson(Job, e.value) : undefined;
    if (!j?.ok) out.push(`job: ${e ? e.operation : "none"}`);
    else {
      const tasks = Object.entries(j.value.tasks).map(([k, t]) => `${k}=${t.state}`);
      out.push(`job: run ${j.value.runId} ${j.value.status}, rev ${e!.revision}, tasks ${tasks.join(" ")}`);
    }
  } catch (err) {
    out.push(`job: unreadable (${(err as Error).message})`);
  }
  try {
    const stored = await readSubject(jsm, STREAMS.results, subjects.results(docId));
    const rs = stored.flatMap((m) => {
      const r = decodeJson(TaskResult, m.data);
      return r.ok ? [{ seq: m.seq, r: r.value }] : [];
    });
    out.push(
      `stored results: ${rs.map(({ seq, r }) => `${r.stage}.${r.index}/${r.runId}:${r.status}@${seq}`).join(" ") || "none"}`,
    );
  } catch (err) {
    out.push(`stored results: unreadable (${(err as Error).message})`);
  }
  for (const stream of [STREAMS.submit, STREAMS.tasks]) {
    const info = await jsm.streams.info(stream, { subjects_filter: ">" }).catch(() => undefined);
    const queued = Object.keys(info?.state.subjects ?? {}).length;
    out.push(`${stream}: ${info?.state.messages ?? "?"} messages on ${queued} subjects`);
  }
  const seen = [...observers.runs.entries()].filter(([k]) => k.includes(docId));
  out.push(`runs seen: ${seen.map(([k, rs]) => `${k}×${rs.length}`).join(" ") || "none"}`);
  for (const r of roles)
    for (const l of r.process.logs)
      if (JSON.stringify(l).includes(docId))
        out.push(`${r.member}: ${l.level} ${l.msg} ${JSON.stringify(l).slice(0, 300)}`);
  return out.map((l) => `    ${l}`);
}

/** The coordinator's results consumer as its leader has it: where a result seq stands against it. */
export async function coordinatorConsumer(nc: NatsConnection): Promise<string> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const c = await jsm.consumers.info(STREAMS.results, COORDINATOR_CONSUMER);
    return `coordinator consumer (leader ${c.cluster?.leader}): delivered stream seq ${c.delivered.stream_seq}, ack floor stream seq ${c.ack_floor.stream_seq}, ack pending ${c.num_ack_pending}, redelivered ${c.num_redelivered}, pending ${c.num_pending}, waiting ${c.num_waiting}`;
  } catch (err) {
    return `coordinator consumer: unreadable (${(err as Error).message})`;
  }
}
