// The chaos run behind `npm run chaos` and test/chaos.test.ts.
//
// 1. A fault-free run: the corpus through an in-process swarm; its pages are the expected output.
// 2. The same corpus through separate processes (`docswarm coordinator` ×C, `docswarm agent` ×H, on
//    an embedded nats-server) while a seeded monkey, at random moments, crashes agent threads (the
//    hosts' chaos control), kill -9s agent host processes and kill -9s the leading coordinator,
//    starting a replacement process after each process kill.
// 3. Checks: every document has exactly one final result (stored once, republished once, one
//    doc.done event), done, with the same pages as the fault-free run. Lost = no final result;
//    duplicated = more than one. Recovery = from a kill to the moment a task the killed thread or
//    process held started running again elsewhere (TaskResult.startedAt, seen on docswarm.result.>);
//    failover = from killing the leader to the next coordinator.elected event.
import { readFile } from "node:fs/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { chaosSubject } from "../../agents/chaos-control.ts";
import { DocswarmClient } from "../../client/index.ts";
import { EmbeddedNatsServer } from "../../infra/index.ts";
import {
  decodeJson,
  type FinalResult,
  HEADERS,
  LeaderLease,
  SwarmEvent,
  TaskResult,
} from "../../schemas/index.ts";
import { BUCKETS, connectNats, ensureTopology, LEADER_KEY, STREAMS, subjects } from "../../streams/index.ts";
import { Swarm } from "../../swarm/index.ts";
import { type KnownDoc, makeCorpus, rng } from "../../test/support/pdf.ts";
import { type RoleProcess, spawnRole, stopAll } from "../../test/support/roles.ts";
import { chaosAuth } from "./auth.ts";

const SLOW_EXTRACT = new URL("../stages/slow-extract.ts", import.meta.url).pathname;

export type FaultKind = "thread" | "host" | "leader";

export type ChaosOptions = {
  docs: number;
  maxPages: number;
  seed: number;
  hosts: number;
  agentsPerHost: number;
  coordinators: number;
  /** Pause before each fault, drawn uniformly from this range. */
  faultEveryMs: [number, number];
  /** Faults in this order first, then drawn at random from `kinds`. */
  firstFaults: FaultKind[];
  kinds: FaultKind[];
  maxFaults: number;
  /** Extra time per extracted page (slow I/O), so small runs have tasks in flight to kill. */
  slowMsPerPage: number;
  timeoutMs: number;
  /** Under NATS auth: each role process as its own user (scripts/chaos/auth.ts). */
  auth: boolean;
  log: (line: string) => void;
};

export const DEFAULT_CHAOS: ChaosOptions = {
  docs: 300,
  maxPages: 8,
  seed: 42,
  hosts: 3,
  agentsPerHost: 2,
  coordinators: 2,
  faultEveryMs: [300, 1500],
  firstFaults: ["thread", "host", "leader"],
  kinds: ["thread", "host", "leader"],
  maxFaults: 1000,
  slowMsPerPage: 0,
  timeoutMs: 10 * 60_000,
  auth: false,
  log: () => {},
};

export type Stats = { samples: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null };

export type Kill = {
  kind: FaultKind;
  at: number;
  target: string;
  tasks: string[];
  agents: string[];
  /** The killed agent host's id (its agents are `<hostId>-a<n>`). */
  hostId?: string;
};

export type ChaosReport = {
  /** Permissions violations the server logged (runs under auth). */
  permissionViolations: number;
  docs: number;
  pages: number;
  faults: Record<FaultKind, number>;
  recovery: Stats & {
    byKind: Record<"thread" | "host", Stats>;
    unrecovered: number;
    /** The slowest recoveries, with the delivery that ran again. */
    slowest: Array<{
      kind: FaultKind;
      taskId: string;
      ms: number;
      delivery: number;
      agentId: string;
      /** The agent that ran it again first waited for a holder it believed alive (a lease). */
      waitedForHolder: boolean;
    }>;
  };
  /** Leader kill → the next coordinator.elected event (it consumes results again). */
  failover: Stats;
  /** Leader kill → another coordinator holds the lease (sampled every 100 ms). */
  leaseTakeover: Stats;
  lost: number;
  duplicated: number;
  mismatched: number;
  failedDocs: number;
  /** Tasks that completed more than once (a redelivery raced a slow ack; results deduplicated). */
  duplicateCompletions: number;
  /**
   * Every extra completion, told apart by cause: after a kill of the agent (thread, or any agent of
   * the host) that had started it before (its ack died with it), or not explained by any kill.
   */
  doubleExecutions: {
    total: number;
    afterKills: number;
    unexplained: number;
    /** Completed runs on agents killed after they started: each can cause one re-run at most. */
    killedRuns: number;
    examples: string[];
  };
  /**
   * Final publishes attempted (a core subscriber sees refused ones too) beyond one per document, and
   * how many of those documents had no merge run again after a kill to explain them.
   */
  finals: { attempted: number; refused: number; unexplained: number };
  /** Documents with more than one doc.done / doc.failed event (events are at least once). */
  duplicateEvents: number;
  baselineMs: number;
  chaosMs: number;
  kills: Kill[];
  /** Every measurement, for pooling across runs. */
  samples: { thread: number[]; host: number[]; failover: number[] };
  problems: string[];
  ok: boolean;
};

export function stats(values: number[]): Stats {
  if (values.length === 0) return { samples: 0, p50Ms: null, p99Ms: null, maxMs: null };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { samples: s.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: s[s.length - 1]! };
}

type Run = {
  agentId: string;
  startedAt: number;
  stage: string;
  docId: string;
  status: string;
  delivery: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The corpus through an in-process swarm without faults: the expected final results. */
export async function baseline(corpus: KnownDoc[], agents: number): Promise<Map<string, FinalResult>> {
  const swarm = await Swarm.initialize({ agents });
  try {
    for (const d of corpus) await swarm.submit(d.bytes, { docId: d.docId });
    const out = new Map<string, FinalResult>();
    for (const d of corpus) out.set(d.docId, await swarm.result(d.docId, { timeoutMs: 5 * 60_000 }));
    return out;
  } finally {
    await swarm.shutdown();
  }
}

/** Undefined when both have the same pages, else where they first differ. */
export function pagesDiffer(a: FinalResult, b: FinalResult): string | undefined {
  if (a.pages.length !== b.pages.length) return `${a.pages.length} pages instead of ${b.pages.length}`;
  const i = a.pages.findIndex((p, i) => p.page !== b.pages[i]!.page || p.text !== b.pages[i]!.text);
  if (i < 0) return undefined;
  const [x, y] = [a.pages[i]!, b.pages[i]!];
  return `page ${x.page}/${y.page}: ${JSON.stringify(x.text.slice(0, 60))} vs ${JSON.stringify(y.text.slice(0, 60))}`;
}

export async function runChaos(options: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const o: ChaosOptions = { ...DEFAULT_CHAOS, ...options };
  const log = o.log;
  const random = rng(o.seed);
  const corpus = await makeCorpus(o.docs, { seed: o.seed, maxPages: o.maxPages, prefix: "chaos" });
  const pages = corpus.reduce((n, d) => n + d.pages.length, 0);
  log(`corpus: ${corpus.length} documents, ${pages} pages`);

  let t0 = Date.now();
  const expected = await baseline(corpus, o.hosts * o.agentsPerHost);
  const baselineMs = Date.now() - t0;
  log(`fault-free run: ${baselineMs} ms`);

  const auth = o.auth ? await chaosAuth() : undefined;
  const server = await EmbeddedNatsServer.start(auth ? { extraConfig: auth.serverConfig } : {});
  const processes: RoleProcess[] = [];
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ ...auth?.harness, servers: server.url, name: "docswarm-chaos" });
    await ensureTopology(nc);
    const env: Record<string, string> = {
      DOCSWARM_CHAOS: "1",
      ...(o.slowMsPerPage > 0 && { DOCSWARM_SLOW_MS_PER_PAGE: String(o.slowMsPerPage) }),
    };
    const agentArgs = [
      "--agents",
      String(o.agentsPerHost),
      ...(o.slowMsPerPage > 0 ? ["--stages", `split,${SLOW_EXTRACT},merge`] : []),
    ];
    const coordinators: RoleProcess[] = [];
    const hosts: RoleProcess[] = [];
    const startCoordinator = () => {
      const p = spawnRole("coordinator", server.url, auth?.roleArgs("coordinator") ?? [], env);
      processes.push(p);
      coordinators.push(p);
      return p;
    };
    const startHost = () => {
      const p = spawnRole("agent", server.url, [...agentArgs, ...(auth?.roleArgs("agent") ?? [])], env);
      processes.push(p);
      hosts.push(p);
      return p;
    };
    for (let i = 0; i < o.coordinators; i++) await startCoordinator().ready;
    await Promise.all(Array.from({ length: o.hosts }, () => startHost().ready));

    // Observers.
    const runs = new Map<string, Run[]>();
    const republished = new Map<string, number>();
    const finalAttempts = new Map<string, number>();
    nc.subscribe(subjects.final("*"), {
      callback: (_e, m) => {
        const docId = m.subject.slice(subjects.final("").length);
        finalAttempts.set(docId, (finalAttempts.get(docId) ?? 0) + 1);
        // A one-chunk document's split publishes no result (layout 4): each final it attempts says
        // its run in the summary header.
        const summary = m.headers?.get(HEADERS.summary);
        if (!summary) return;
        const v = JSON.parse(summary) as { agentId: string; startedAt: number; delivery: number };
        const key = `submit.${docId}`;
        const list = runs.get(key) ?? [];
        list.push({
          agentId: v.agentId,
          startedAt: v.startedAt,
          stage: "split",
          docId,
          status: "ok",
          delivery: v.delivery,
        });
        runs.set(key, list);
      },
    });
    const finishedEvents = new Map<string, number>();
    const elected: Array<{ at: number; coordinatorId: string; term: number }> = [];
    nc.subscribe("docswarm.result.>", {
      callback: (_e, m) => {
        const r = decodeJson(TaskResult, m.data);
        if (!r.ok) return;
        const v = r.value;
        const key = v.stage === "split" ? `submit.${v.docId}` : v.taskId;
        const list = runs.get(key) ?? [];
        list.push({
          agentId: v.agentId,
          startedAt: v.startedAt,
          stage: v.stage,
          docId: v.docId,
          status: v.status,
          delivery: v.delivery,
        });
        runs.set(key, list);
      },
    });
    nc.subscribe(subjects.doneAll, {
      callback: (_e, m) => {
        const docId = m.subject.slice(subjects.done("").length);
        republished.set(docId, (republished.get(docId) ?? 0) + 1);
      },
    });
    nc.subscribe(subjects.eventsAll, {
      callback: (_e, m) => {
        const e = decodeJson(SwarmEvent, m.data);
        if (!e.ok) return;
        const v = e.value;
        if (v.type === "coordinator.elected")
          elected.push({ at: v.at, coordinatorId: v.coordinatorId, term: v.term });
        if (v.type === "doc.done" || v.type === "doc.failed")
          finishedEvents.set(v.docId, (finishedEvents.get(v.docId) ?? 0) + 1);
      },
    });
    const leases = await new Kvm(nc).open(BUCKETS.leases);
    const client = new DocswarmClient(nc);
    // Who holds the leader lease, sampled every 100 ms: separates winning the election from
    // starting to lead (the coordinator.elected event comes once it consumes again).
    const holders: Array<{ at: number; holderId: string }> = [];
    const leasePoll = setInterval(() => {
      void leases
        .get(LEADER_KEY)
        .then((e) => {
          const l = e?.operation === "PUT" ? decodeJson(LeaderLease, e.value) : undefined;
          const id = l?.ok ? l.value.holderId : "";
          if (id && holders.at(-1)?.holderId !== id) holders.push({ at: Date.now(), holderId: id });
        })
        .catch(() => {});
    }, 100);

    t0 = Date.now();
    const deadline = t0 + o.timeoutMs;
    const submitting = (async () => {
      for (const d of corpus) await client.submit(d.bytes, { docId: d.docId, fullRetryMs: o.timeoutMs });
    })();

    // The monkey.
    const kills: Kill[] = [];
    const failovers: number[] = [];
    const leaseTakeovers: number[] = [];
    const problems: string[] = [];
    const conn = nc;
    const liveHosts = () => hosts.filter((h) => h.child.exitCode === null && h.child.signalCode === null);
    const ask = async <T>(host: RoleProcess, body: unknown): Promise<T | undefined> => {
      try {
        const r = await conn.request(chaosSubject(host.pid), JSON.stringify(body), { timeout: 1000 });
        return r.json<T>();
      } catch {
        return undefined;
      }
    };
    type Held = {
      at: number;
      hostId: string;
      tasks: Array<{ agentId: string; taskId: string; running: boolean }>;
    };
    const busyHost = async (): Promise<{ host: RoleProcess; held: Held } | undefined> => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const candidates = liveHosts().sort(() => random() - 0.5);
        for (const host of candidates) {
          const held = await ask<Held>(host, { op: "held" });
          if (held?.tasks.some((t) => t.running)) return { host, held };
        }
        await sleep(100);
      }
      return undefined;
    };
    const allFinished = () => republished.size >= corpus.length;
    const monkey = (async () => {
      const kinds = o.kinds;
      for (let n = 0; n < o.maxFaults && !allFinished() && Date.now() < deadline; n++) {
        await sleep(o.faultEveryMs[0] + random() * (o.faultEveryMs[1] - o.faultEveryMs[0]));
        if (allFinished()) break;
        const kind = o.firstFaults[n] ?? kinds[Math.floor(random() * kinds.length)]!;
        if (kind === "thread") {
          const busy = await busyHost();
          if (!busy) continue;
          const r = await ask<{ at: number; crashed: { agentId: string; taskIds: string[] } | null }>(
            busy.host,
            {
              op: "crash-agent",
            },
          );
          if (!r?.crashed) continue;
          kills.push({
            kind,
            at: r.at,
            target: r.crashed.agentId,
            tasks: r.crashed.taskIds,
            agents: [r.crashed.agentId],
          });
          log(
            `+${Date.now() - t0} ms: crashed agent thread ${r.crashed.agentId} (${r.crashed.taskIds.length} tasks)`,
          );
        } else if (kind === "host") {
          const busy = await busyHost();
          if (!busy || liveHosts().length < 2) continue;
          const at = Date.now();
          busy.host.kill("SIGKILL");
          const agents = [...new Set(busy.held.tasks.map((t) => t.agentId))];
          kills.push({
            kind,
            at,
            target: `pid ${busy.host.pid}`,
            tasks: busy.held.tasks.map((t) => t.taskId),
            agents,
            hostId: busy.held.hostId,
          });
          log(`+${at - t0} ms: kill -9 agent host ${busy.host.pid} (${busy.held.tasks.length} tasks)`);
          await busy.host.exited;
          setTimeout(() => void startHost().ready.catch(() => {}), 300);
        } else {
          const e = await leases.get(LEADER_KEY).catch(() => null);
          const lease = e?.operation === "PUT" ? decodeJson(LeaderLease, e.value) : undefined;
          const leader = lease?.ok ? coordinators.find((c) => c.pid === lease.value.pid) : undefined;
          if (!leader || !lease?.ok || leader.child.exitCode !== null || leader.child.signalCode !== null)
            continue;
          const at = Date.now();
          leader.kill("SIGKILL");
          kills.push({ kind, at, target: lease.value.holderId, tasks: [], agents: [] });
          log(
            `+${at - t0} ms: kill -9 leading coordinator ${lease.value.holderId} (term ${lease.value.term})`,
          );
          await leader.exited;
          setTimeout(() => void startCoordinator().ready.catch(() => {}), 300);
        }
      }
    })();

    await submitting;
    while (!allFinished() && Date.now() < deadline) await sleep(100);
    await monkey;
    const chaosMs = Date.now() - t0;
    // A task killed after its document's final result was written (a merge killed between
    // publishing the final and its own result) runs again only after the ack wait: give every
    // killed task the time to show up again, and stragglers (a second final) time to appear.
    const ranAgain = (k: Kill, r: Run) =>
      r.startedAt >= k.at && (k.kind === "thread" || !k.agents.includes(r.agentId));
    const settled = (k: Kill) =>
      k.tasks.every((id) => (runs.get(id) ?? []).some((r) => r.startedAt < k.at || ranAgain(k, r)));
    // Small documents end without the coordinator (one task each), so the documents can all be
    // done before a standby has taken over from a killed leader: wait for that too.
    const succeeded = (k: Kill) => holders.some((h) => h.at >= k.at && h.holderId !== k.target);
    const settleBy = Date.now() + 15_000;
    while (Date.now() < settleBy && !kills.every((k) => (k.kind === "leader" ? succeeded(k) : settled(k))))
      await sleep(200);
    await sleep(1000);
    clearInterval(leasePoll);

    // Failover times: from each leader kill to the next election of another coordinator.
    for (const k of kills.filter((k) => k.kind === "leader")) {
      const next = elected.find((e) => e.at >= k.at && e.coordinatorId !== k.target);
      if (next) failovers.push(next.at - k.at);
      const won = holders.find((h) => h.at >= k.at && h.holderId !== k.target);
      if (won) leaseTakeovers.push(won.at - k.at);
      else problems.push(`no new leader after killing ${k.target}`);
    }
    // Recovery: kill → the killed work started again (elsewhere, for a process kill).
    const recoveries: Record<"thread" | "host", number[]> = { thread: [], host: [] };
    const detail: ChaosReport["recovery"]["slowest"] = [];
    const waitedFor = new Set(
      processes
        .flatMap((p) => p.logs)
        .filter((l) => l.msg === "redelivered task is still held by a live agent; waiting")
        .map((l) => String(l.taskId)),
    );
    let unrecovered = 0;
    for (const k of kills) {
      if (k.kind === "leader") continue;
      for (const taskId of k.tasks) {
        const list = runs.get(taskId) ?? [];
        const again = list.filter((r) => ranAgain(k, r)).sort((a, b) => a.startedAt - b.startedAt)[0];
        if (again) {
          recoveries[k.kind].push(again.startedAt - k.at);
          detail.push({
            kind: k.kind,
            taskId,
            ms: again.startedAt - k.at,
            delivery: again.delivery,
            agentId: again.agentId,
            waitedForHolder: waitedFor.has(taskId),
          });
        } else if (!list.some((r) => r.startedAt < k.at)) {
          unrecovered++;
          problems.push(`task ${taskId} held at a ${k.kind} kill never ran again`);
        }
      }
    }
    // Exactly one final result per document, identical to the fault-free run.
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.doneAll });
    const stored = info.state.subjects ?? {};
    let lost = 0;
    let duplicated = 0;
    let mismatched = 0;
    let failedDocs = 0;
    let duplicateEvents = 0;
    for (const d of corpus) {
      const count = stored[subjects.done(d.docId)] ?? 0;
      if (count === 0) {
        lost++;
        problems.push(`${d.docId}: no final result`);
        continue;
      }
      if (count > 1 || (republished.get(d.docId) ?? 0) > 1) {
        duplicated++;
        problems.push(`${d.docId}: ${count} stored, ${republished.get(d.docId)} republished final results`);
      }
      // Events are notifications, delivered at least once: a coordinator that crashed after
      // emitting one re-derives it on redelivery. Counted, not a failure.
      if ((finishedEvents.get(d.docId) ?? 0) > 1) duplicateEvents++;
      const final = await client.result(d.docId, { timeoutMs: 5000 });
      if (final.status !== "done") {
        failedDocs++;
        problems.push(`${d.docId}: ${final.status} ${final.error?.code}: ${final.error?.message}`);
      } else {
        const differs = pagesDiffer(final, expected.get(d.docId)!);
        if (differs) {
          mismatched++;
          problems.push(`${d.docId}: differs from the fault-free run: ${differs}`);
        }
      }
    }
    // Under auth the roles' permissions must cover everything they did, faults and recoveries included.
    const violations = auth
      ? (await readFile(server.logFile, "utf8")).split("\n").filter((l) => /Permissions Violation/i.test(l))
      : [];
    for (const v of violations) problems.push(`permissions: ${v.slice(v.indexOf("]") + 1).trim()}`);
    let executions = 0;
    for (const list of runs.values()) executions += list.length;
    // Double executions by cause: an extra run is explained when an earlier run of the same task was
    // on an agent killed after it started (its result published, its ack lost with it).
    const killedRun = (r: Run) =>
      kills.some(
        (k) =>
          k.at >= r.startedAt &&
          ((k.kind === "thread" && k.agents.includes(r.agentId)) ||
            (k.kind === "host" && k.hostId !== undefined && r.agentId.startsWith(`${k.hostId}-`))),
      );
    const doubled = { total: 0, afterKills: 0, unexplained: 0, killedRuns: 0, examples: [] as string[] };
    for (const list of runs.values()) doubled.killedRuns += list.filter(killedRun).length;
    const rerunDocs = new Set<string>();
    for (const [key, list] of runs) {
      if (list.length < 2) continue;
      const sorted = [...list].sort((a, b) => a.startedAt - b.startedAt);
      for (let i = 1; i < sorted.length; i++) {
        doubled.total++;
        if (sorted.slice(0, i).some(killedRun)) {
          doubled.afterKills++;
          // Merge ends a chunked document; split ends a single-task one itself.
          if (sorted[i]!.stage === "merge" || sorted[i]!.stage === "split") rerunDocs.add(sorted[i]!.docId);
        } else {
          doubled.unexplained++;
          if (doubled.examples.length < 5)
            doubled.examples.push(`${key}: ${sorted.map((r) => `${r.agentId}@${r.startedAt}`).join(", ")}`);
        }
      }
    }
    for (const e of doubled.examples) problems.push(`ran twice without a kill to explain it: ${e}`);
    // A merge (or a single-task split) killed after publishing the final but before its result
    // leaves no run to see: a kill holding one of the document's ending tasks explains a refused
    // final too.
    for (const k of kills)
      for (const id of k.tasks)
        if (id.startsWith("submit.")) rerunDocs.add(id.slice("submit.".length));
        else if (id.includes(".merge.") || id.includes(".split.")) rerunDocs.add(id.split(".")[0]!);
    let attempted = 0;
    let unexplainedFinals = 0;
    for (const [docId, n] of finalAttempts) {
      attempted += n;
      if (n > 1 && !rerunDocs.has(docId)) {
        unexplainedFinals++;
        problems.push(
          `${docId}: ${n} final publishes attempted, no merge or single-task split re-run after a kill to explain it`,
        );
      }
    }
    const faults = { thread: 0, host: 0, leader: 0 };
    for (const k of kills) faults[k.kind]++;
    const all = [...recoveries.thread, ...recoveries.host];
    return {
      docs: corpus.length,
      pages,
      faults,
      recovery: {
        ...stats(all),
        byKind: { thread: stats(recoveries.thread), host: stats(recoveries.host) },
        unrecovered,
        slowest: detail.sort((a, b) => b.ms - a.ms).slice(0, 5),
      },
      failover: stats(failovers),
      leaseTakeover: stats(leaseTakeovers),
      lost,
      duplicated,
      mismatched,
      failedDocs,
      duplicateCompletions: executions - runs.size,
      doubleExecutions: doubled,
      finals: { attempted, refused: attempted - finalAttempts.size, unexplained: unexplainedFinals },
      duplicateEvents,
      baselineMs,
      chaosMs,
      kills,
      samples: { thread: recoveries.thread, host: recoveries.host, failover: failovers },
      problems,
      permissionViolations: violations.length,
      ok:
        lost === 0 &&
        duplicated === 0 &&
        mismatched === 0 &&
        failedDocs === 0 &&
        unrecovered === 0 &&
        doubled.unexplained === 0 &&
        unexplainedFinals === 0 &&
        violations.length === 0,
    };
  } finally {
    await stopAll(processes, 3000);
    await nc?.close().catch(() => {});
    await server.close();
    await auth?.close();
  }
}
