// The partition run behind `npm run partition` and test/partition.test.ts.
//
// 1. A fault-free run: the corpus through an in-process swarm; its pages are the expected output.
// 2. A lab of network namespaces (netlab.ts): three nats-server nodes running the deployment guide's
//    cluster config with R3 streams, two `docswarm coordinator` and three `docswarm agent` processes,
//    each in its own namespace. The drill (submitter and observers) sits on the bridge.
// 3. While documents are submitted at a steady pace, faults (faults.ts) one at a time: each kind once
//    in order, then drawn at random; each lasts `holdMs`, is healed, and the next waits until the
//    swarm is whole again (recovery = heal -> whole).
// 4. Checks: every document has exactly one final result, identical to the fault-free run; no role
//    process exited; what each role and node logged during each fault.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { DocswarmClient } from "../../client/index.ts";
import type { FinalResult } from "../../schemas/index.ts";
import { connectNats, ensureTopology, STREAMS, subjects } from "../../streams/index.ts";
import { makeCorpus, rng } from "../../test/support/pdf.ts";
import { type RoleProcess, spawnRole, stopAll } from "../../test/support/roles.ts";
import { baseline, pagesDiffer, type Stats, stats } from "../chaos/run.ts";
import { type NatsNode, readServerLog, startCluster } from "./cluster.ts";
import { coordinatorConsumer, diagnose } from "./diagnose.ts";
import {
  type ActiveFault,
  type DrillContext,
  FAULT_KINDS,
  type FaultKind,
  type FaultRecord,
  inject,
  type Role,
} from "./faults.ts";
import { type LogSummary, summarizeLogs } from "./logs.ts";
import { NetLab, netLabUnavailable } from "./netlab.ts";
import { isWhole, notWhole, Observers, readState, type SwarmState } from "./observe.ts";

const SLOW_EXTRACT = new URL("../stages/slow-extract.ts", import.meta.url).pathname;
const REPLICAS = 3;

export type PartitionOptions = {
  docs: number;
  maxPages: number;
  seed: number;
  agentsPerHost: number;
  /** Extra time per extracted page, so tasks are in flight when a fault hits. */
  slowMsPerPage: number;
  /** Faults in this order first, then drawn at random from `kinds`, `faults` in all. */
  firstFaults: FaultKind[];
  kinds: FaultKind[];
  faults: number;
  /** How long each fault lasts. */
  holdMs: number;
  /** Pause between the swarm being whole again and the next fault. */
  gapMs: number;
  /** A swarm not whole this long after a heal is a failure. */
  wholeTimeoutMs: number;
  timeoutMs: number;
  /** Keep what a run leaves to read afterwards here: each node's log, each role's log, the report. */
  keepDir?: string;
  log: (line: string) => void;
};

export const DEFAULT_PARTITION: PartitionOptions = {
  docs: 300,
  maxPages: 6,
  seed: 42,
  agentsPerHost: 2,
  slowMsPerPage: 150,
  firstFaults: [...FAULT_KINDS],
  kinds: [...FAULT_KINDS],
  faults: 12,
  holdMs: 10_000,
  gapMs: 2000,
  wholeTimeoutMs: 90_000,
  timeoutMs: 20 * 60_000,
  log: () => {},
};

export type KindReport = {
  kind: FaultKind;
  count: number;
  takeover: Stats;
  recovery: Stats;
  lateResults: number;
  logs: LogSummary;
};

export type PartitionReport = {
  docs: number;
  pages: number;
  seed: number;
  faults: FaultRecord[];
  byKind: KindReport[];
  lost: number;
  duplicated: number;
  mismatched: number;
  failedDocs: number;
  /** Submissions the client gave up on (the drill submitted them again). */
  submitErrors: string[];
  /** Role processes that exited during the run. */
  exited: string[];
  /** Tasks that completed more than once (results deduplicated). */
  duplicateCompletions: number;
  baselineMs: number;
  runMs: number;
  problems: string[];
  ok: boolean;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const LAB_MEMBERS = ["coord-1", "coord-2", "agents-1", "agents-2", "agents-3"] as const;

export async function runPartition(options: Partial<PartitionOptions> = {}): Promise<PartitionReport> {
  const o: PartitionOptions = { ...DEFAULT_PARTITION, ...options };
  const unavailable = netLabUnavailable();
  if (unavailable) throw new Error(`the partition drill ${unavailable}`);
  const log = o.log;
  const random = rng(o.seed);
  const corpus = await makeCorpus(o.docs, { seed: o.seed, maxPages: o.maxPages, prefix: "part" });
  const pages = corpus.reduce((n, d) => n + d.pages.length, 0);
  log(`corpus: ${corpus.length} documents, ${pages} pages`);
  let t0 = Date.now();
  const expected = await baseline(corpus, 3 * o.agentsPerHost);
  const baselineMs = Date.now() - t0;
  log(`fault-free run: ${baselineMs} ms`);

  const dir = await mkdtemp(join(tmpdir(), "docswarm-partition-"));
  const lab = await NetLab.create(["nats-1", "nats-2", "nats-3", ...LAB_MEMBERS], log);
  const processes: RoleProcess[] = [];
  let nc: NatsConnection | undefined;
  let observers: Observers | undefined;
  let polling = true;
  let poller: Promise<void> = Promise.resolve();
  let nodes: NatsNode[] = [];
  const members = new Map<RoleProcess, string>();
  let report: PartitionReport | undefined;
  try {
    nodes = await startCluster(lab, dir);
    nc = await connectNats({ servers: nodes.map((n) => n.url), name: "docswarm-partition" });
    const admin = nc;
    await until(
      () => ensureTopology(admin, { replicas: REPLICAS }).then(() => true),
      60_000,
      "the R3 topology",
    );
    observers = await Observers.open(nodes);
    log(`cluster up (${nodes.map((n) => n.ip).join(", ")}), topology R${REPLICAS}: ${Date.now() - t0} ms`);

    const role = (kind: "agent" | "coordinator", member: string, node: NatsNode): Role => {
      const args =
        kind === "agent"
          ? [
              "--agents",
              String(o.agentsPerHost),
              "--replicas",
              String(REPLICAS),
              "--stages",
              `split,${SLOW_EXTRACT},merge`,
            ]
          : ["--replicas", String(REPLICAS)];
      // Debug logs: a document that goes wrong can be followed through every role (diagnose.ts).
      const env = {
        DOCSWARM_CHAOS: "1",
        DOCSWARM_SLOW_MS_PER_PAGE: String(o.slowMsPerPage),
        DOCSWARM_LOG_LEVEL: "debug",
      };
      // Every node, this role's own first: NATS_URL takes a comma-separated list.
      const urls = [node, ...nodes.filter((n) => n !== node)].map((n) => n.labUrl).join(",");
      const p = spawnRole(kind, urls, args, env, ["ip", "netns", "exec", lab.member(member).ns]);
      processes.push(p);
      members.set(p, member);
      return { member, process: p };
    };
    // Roles start on different nodes.
    const coordinators = [
      role("coordinator", "coord-1", nodes[0]!),
      role("coordinator", "coord-2", nodes[1]!),
    ];
    const hosts = [0, 1, 2].map((i) => role("agent", `agents-${i + 1}`, nodes[i]!));
    await Promise.all([...coordinators, ...hosts].map((r) => r.process.ready));
    const expectedAgents = hosts.length * o.agentsPerHost;

    let latest: SwarmState | undefined;
    poller = (async () => {
      while (polling) {
        latest = (await readState(admin, REPLICAS).catch(() => undefined)) ?? latest;
        await sleep(400);
      }
    })();
    const ctx: DrillContext = {
      lab,
      nodes,
      coordinators,
      hosts,
      observers,
      nc: admin,
      state: () => latest,
      random,
      replicas: REPLICAS,
    };
    const whole = async (after: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const s = latest;
        if (s && s.at > after && isWhole(s, expectedAgents)) return s.at;
        await sleep(100);
      }
      return undefined;
    };
    if (!(await whole(0, 60_000)))
      throw new Error(
        `the swarm was not whole before the first fault: ${latest ? notWhole(latest, expectedAgents) : "no state read"}`,
      );
    log(`roles up: ${Date.now() - t0} ms`);

    t0 = Date.now();
    const client = new DocswarmClient(admin);
    const submitErrors: string[] = [];
    const plannedMs = o.faults * (o.holdMs + o.gapMs + 5000);
    const submitting = (async () => {
      for (let i = 0; i < corpus.length; i++) {
        const d = corpus[i]!;
        for (;;) {
          try {
            await client.submit(d.bytes, { docId: d.docId, fullRetryMs: o.timeoutMs });
            break;
          } catch (err) {
            submitErrors.push(`${d.docId}: ${(err as Error).message}`);
            await sleep(500);
          }
        }
        const due = t0 + ((i + 1) * plannedMs) / corpus.length;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    })();

    const records: FaultRecord[] = [];
    const problems: string[] = [];
    const deadline = t0 + o.timeoutMs;
    for (let n = 0; n < o.faults && Date.now() < deadline; n++) {
      await sleep(o.gapMs);
      const kind = o.firstFaults[n] ?? o.kinds[Math.floor(random() * o.kinds.length)]!;
      const fault: ActiveFault = await inject(ctx, kind);
      const r = fault.record;
      log(`+${r.injectedAt - t0} ms: ${kind} ${r.target}`);
      await sleep(o.holdMs);
      await fault.heal();
      const at = await whole(r.healedAt, o.wholeTimeoutMs);
      if (at) r.recoveryMs = at - r.healedAt;
      else
        problems.push(
          `${kind} ${r.target}: not whole ${o.wholeTimeoutMs} ms after the heal (${latest ? notWhole(latest, expectedAgents) : "?"})`,
        );
      await fault.done();
      records.push(r);
      log(
        `+${Date.now() - t0} ms: healed ${kind}; takeover ${r.takeoverMs.length ? `${Math.max(...r.takeoverMs)} ms` : "-"}, whole again after ${r.recoveryMs ?? "?"} ms${r.notes.length ? `; ${r.notes.join("; ")}` : ""}`,
      );
    }

    await submitting;
    const finished = () => corpus.every((d) => observers!.finals.has(d.docId));
    while (!finished() && Date.now() < deadline) await sleep(200);
    await sleep(2000);
    const runMs = Date.now() - t0;
    polling = false;
    await poller;

    // Exactly one final result per document, identical to the fault-free run.
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info(STREAMS.done, { subjects_filter: subjects.doneAll });
    const stored = info.state.subjects ?? {};
    const outcome = { lost: 0, duplicated: 0, mismatched: 0, failedDocs: 0 };
    for (const d of corpus) {
      const count = stored[subjects.done(d.docId)] ?? 0;
      const republished = observers.finals.get(d.docId)?.size ?? 0;
      if (count === 0) {
        outcome.lost++;
        problems.push(
          `${d.docId}: no final result`,
          ...(await diagnose(admin, d.docId, observers, [...coordinators, ...hosts])),
        );
        continue;
      }
      if (count > 1 || republished > 1) {
        outcome.duplicated++;
        problems.push(`${d.docId}: ${count} stored, ${republished} republished final results`);
      }
      const final: FinalResult = await client.result(d.docId, { timeoutMs: 5000 });
      if (final.status !== "done") {
        outcome.failedDocs++;
        problems.push(`${d.docId}: ${final.status} ${final.error?.code}: ${final.error?.message}`);
        continue;
      }
      const differs = pagesDiffer(final, expected.get(d.docId)!);
      if (differs) {
        outcome.mismatched++;
        problems.push(`${d.docId}: differs from the fault-free run: ${differs}`);
      }
    }
    if (outcome.lost > 0) problems.push(await coordinatorConsumer(admin));
    const exited = processes
      .filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
      .map((p) => `${p.role} pid ${p.pid} (${p.child.exitCode ?? p.child.signalCode})`);
    for (const e of exited) problems.push(`role process exited: ${e}`);
    let executions = 0;
    for (const list of observers.runs.values()) executions += list.length;

    const serverLogs = (await Promise.all(nodes.map(readServerLog))).flat();
    const byKind: KindReport[] = o.kinds
      .filter((k) => records.some((r) => r.kind === k))
      .map((kind) => {
        const rs = records.filter((r) => r.kind === kind);
        return {
          kind,
          count: rs.length,
          takeover: stats(rs.flatMap((r) => r.takeoverMs)),
          recovery: stats(rs.flatMap((r) => (r.recoveryMs === undefined ? [] : [r.recoveryMs]))),
          lateResults: rs.reduce((n, r) => n + r.lateResults, 0),
          logs: summarizeLogs(rs, [...coordinators, ...hosts], serverLogs),
        };
      });
    const missing = o.kinds.filter((k) => !records.some((r) => r.kind === k));
    if (missing.length > 0) problems.push(`fault kinds never applied: ${missing.join(", ")}`);
    report = {
      docs: corpus.length,
      pages,
      seed: o.seed,
      faults: records,
      byKind,
      ...outcome,
      submitErrors,
      exited,
      duplicateCompletions: executions - observers.runs.size,
      baselineMs,
      runMs,
      problems,
      ok:
        outcome.lost + outcome.duplicated + outcome.mismatched + outcome.failedDocs === 0 &&
        exited.length === 0 &&
        problems.length === 0,
    };
    return report;
  } finally {
    polling = false;
    await poller;
    await stopAll(processes, 3000);
    if (o.keepDir) await keep(o.keepDir, nodes, members, report).catch((err) => log(`keep: ${err}`));
    await observers?.close();
    await nc?.close().catch(() => {});
    await lab.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a run leaves, for reading after the lab is gone: node logs, role logs (JSON lines), the report. */
async function keep(
  dir: string,
  nodes: NatsNode[],
  members: Map<RoleProcess, string>,
  report: PartitionReport | undefined,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const n of nodes) await copyFile(n.logFile, join(dir, `${n.name}.log`)).catch(() => {});
  for (const [p, member] of members)
    await writeFile(join(dir, `${member}-${p.pid}.jsonl`), p.logs.map((l) => JSON.stringify(l)).join("\n"));
  if (report) await writeFile(join(dir, "report.json"), JSON.stringify(report, null, 2));
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}: ${(last as Error | undefined)?.message ?? "never true"}`);
}
