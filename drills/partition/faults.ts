// The partition drill's faults. Each picks its target, applies itself to the lab, measures how long
// the swarm takes to route around it while it lasts ("takeover": new raft leaders on the majority,
// a standby leading, a cut host's tasks running elsewhere), then heals.
import type { NatsConnection } from "@nats-io/transport-node";
import { chaosSubject } from "../../agents/chaos-control.ts";
import type { RoleProcess } from "../../test/support/roles.ts";
import type { NatsNode } from "./cluster.ts";
import type { NetLab } from "./netlab.ts";
import { leaderOf, type Observers, type SwarmState } from "./observe.ts";

export const FAULT_KINDS = ["node", "leader", "host", "split", "slow", "flap"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_NAMES: Record<FaultKind, string> = {
  node: "NATS node isolated from the other two",
  leader: "leading coordinator cut off",
  host: "agent host cut off mid-task",
  split: "split: 1 node + leader + 1 host | 2 nodes + 2 hosts",
  slow: "200 ms delay + 20 % loss on a node's link",
  flap: "link flapping (2 s down / 2 s up)",
};

/** A role process and the lab member (namespace) it runs in. */
export type Role = { member: string; process: RoleProcess };

export type DrillContext = {
  lab: NetLab;
  nodes: NatsNode[];
  coordinators: Role[];
  hosts: Role[];
  observers: Observers;
  /** The drill's own connection (every node), for requests to roles. */
  nc: NatsConnection;
  /** The latest look at the swarm (refreshed in the background). */
  state(): SwarmState | undefined;
  random(): number;
  replicas: number;
};

export type FaultRecord = {
  kind: FaultKind;
  target: string;
  injectedAt: number;
  healedAt: number;
  /** Heal -> the swarm is whole again (isWhole). */
  recoveryMs?: number;
  /** While the fault lasted: how long until its work ran elsewhere (one sample per item moved). */
  takeoverMs: number[];
  /** What had to move, and what did not (for the report). */
  notes: string[];
  /** Results published after the cut by the agents that were cut off (deduplicated, change nothing). */
  lateResults: number;
};

export type ActiveFault = {
  record: FaultRecord;
  /** Ends the fault. */
  heal(): Promise<void>;
  /** Waits for the takeover measurement (bounded after the heal) and counts late results. */
  done(): Promise<void>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(ctx: DrillContext, items: T[]): T => items[Math.floor(ctx.random() * items.length)]!;

type Held = { tasks: Array<{ agentId: string; taskId: string; running: boolean }> };

async function held(ctx: DrillContext, host: Role): Promise<Held | undefined> {
  try {
    const r = await ctx.nc.request(chaosSubject(host.process.pid), JSON.stringify({ op: "held" }), {
      timeout: 1000,
    });
    return r.json<Held>();
  } catch {
    return undefined;
  }
}

/** A host holding running tasks (the busiest of a few looks), or any host. */
async function busyHost(ctx: DrillContext, among = ctx.hosts): Promise<{ host: Role; tasks: string[] }> {
  let best: { host: Role; tasks: string[] } = { host: pick(ctx, among), tasks: [] };
  for (let attempt = 0; attempt < 10 && best.tasks.length === 0; attempt++) {
    for (const host of [...among].sort(() => ctx.random() - 0.5)) {
      const tasks = (await held(ctx, host))?.tasks.filter((t) => t.running).map((t) => t.taskId) ?? [];
      if (tasks.length > best.tasks.length) best = { host, tasks };
    }
    if (best.tasks.length === 0) await sleep(200);
  }
  return best;
}

function leaderRole(ctx: DrillContext): Role | undefined {
  const pid = ctx.state()?.lease?.pid;
  return ctx.coordinators.find((c) => c.process.pid === pid);
}

function agentsOf(ctx: DrillContext, hosts: Role[]): Set<string> {
  const pids = new Set(hosts.map((h) => h.process.pid));
  return new Set(
    [...(ctx.state()?.agents ?? new Map<string, number>())]
      .filter(([, pid]) => pids.has(pid))
      .map(([id]) => id),
  );
}

/** Until `until()` (or 60 s after the heal): the first election by a coordinator other than `old`. */
async function watchElection(
  ctx: DrillContext,
  r: FaultRecord,
  old: string,
  healed: () => number,
): Promise<void> {
  while (!(healed() > 0 && Date.now() > healed() + 60_000)) {
    const e = ctx.observers.elections.find((x) => x.at >= r.injectedAt && x.coordinatorId !== old);
    if (e) {
      r.takeoverMs.push(e.at - r.injectedAt);
      r.notes.push(`standby ${e.coordinatorId} elected (term ${e.term})`);
      return;
    }
    await sleep(100);
  }
  r.notes.push(`no other coordinator was elected after cutting ${old}`);
}

/** The tasks the cut hosts held, each timed until it started again on another host. */
async function watchTasks(
  ctx: DrillContext,
  r: FaultRecord,
  tasks: string[],
  cutAgents: Set<string>,
  healed: () => number,
): Promise<void> {
  const pending = new Set(tasks);
  while (pending.size > 0 && !(healed() > 0 && Date.now() > healed() + 60_000)) {
    for (const id of pending) {
      const again = (ctx.observers.runs.get(id) ?? [])
        .filter((x) => x.startedAt >= r.injectedAt && !cutAgents.has(x.agentId))
        .sort((a, b) => a.startedAt - b.startedAt)[0];
      if (again) {
        r.takeoverMs.push(again.startedAt - r.injectedAt);
        pending.delete(id);
      }
    }
    await sleep(100);
  }
  // Finished by the cut host itself before its results stopped getting through: nothing to move.
  const finishedBefore = [...pending].filter((id) =>
    (ctx.observers.runs.get(id) ?? []).some((x) => cutAgents.has(x.agentId) && x.seenAt < r.injectedAt + 500),
  );
  if (finishedBefore.length > 0)
    r.notes.push(`${finishedBefore.length} held tasks finished as the cut began`);
  const never = pending.size - finishedBefore.length;
  if (never > 0) r.notes.push(`${never} held tasks did not run elsewhere`);
}

/** The replicated raft groups `node` led, each timed until a leader on the majority side answers for it. */
async function watchLeaders(
  ctx: DrillContext,
  r: FaultRecord,
  node: string,
  healed: () => number,
): Promise<void> {
  const led = (ctx.state()?.assets ?? [])
    .filter((a) => a.leader === node && a.replicas > 1)
    .map((a) => a.name);
  if (led.length === 0) {
    r.notes.push(`${node} led no replicated stream or consumer`);
    return;
  }
  const pending = new Set(led);
  const majority = ctx.observers.byNode.get(ctx.nodes.find((n) => n.name !== node)!.name)!;
  // A group that did not move while the node was cut off will not move once it is back.
  while (pending.size > 0 && healed() === 0) {
    await Promise.all(
      [...pending].map(async (asset) => {
        const leader = await leaderOf(majority, asset).catch(() => undefined);
        if (leader === undefined || leader === node || !pending.has(asset)) return;
        r.takeoverMs.push(Date.now() - r.injectedAt);
        pending.delete(asset);
      }),
    );
    await sleep(100);
  }
  r.notes.push(`${led.length - pending.size}/${led.length} raft groups led by ${node} moved`);
}

/** Applies one fault of `kind` for `holdMs`-ish (the caller heals it). */
export async function inject(ctx: DrillContext, kind: FaultKind): Promise<ActiveFault> {
  const r: FaultRecord = {
    kind,
    target: "",
    injectedAt: 0,
    healedAt: 0,
    takeoverMs: [],
    notes: [],
    lateResults: 0,
  };
  let healedAt = 0;
  const healed = () => healedAt;
  const nodeNames = ctx.nodes.map((n) => n.name);
  let measured: Promise<void> = Promise.resolve();
  let undo: () => Promise<void> = () => ctx.lab.heal();
  let cutAgents = new Set<string>();
  let cutTasks: string[] = [];

  if (kind === "node") {
    const node = pick(ctx, nodeNames);
    r.target = node;
    r.injectedAt = Date.now();
    await ctx.lab.partition([[node], nodeNames.filter((n) => n !== node)]);
    measured = watchLeaders(ctx, r, node, healed);
  } else if (kind === "leader") {
    const leader = leaderRole(ctx) ?? pick(ctx, ctx.coordinators);
    const id = ctx.state()?.lease?.holderId ?? "";
    r.target = `${leader.member} (${id})`;
    r.injectedAt = Date.now();
    await ctx.lab.cut(leader.member);
    measured = watchElection(ctx, r, id, healed);
  } else if (kind === "host") {
    const { host, tasks } = await busyHost(ctx);
    r.target = `${host.member} (${tasks.length} tasks running)`;
    cutAgents = agentsOf(ctx, [host]);
    cutTasks = tasks;
    r.injectedAt = Date.now();
    await ctx.lab.cut(host.member);
    measured = watchTasks(ctx, r, tasks, cutAgents, healed);
  } else if (kind === "split") {
    const node = pick(ctx, nodeNames);
    const leader = leaderRole(ctx) ?? pick(ctx, ctx.coordinators);
    const id = ctx.state()?.lease?.holderId ?? "";
    const { host, tasks } = await busyHost(ctx);
    const minority = [node, leader.member, host.member];
    const majority = [...ctx.lab.members.keys()].filter((m) => !minority.includes(m));
    r.target = `${minority.join(" + ")} | ${majority.length} others`;
    cutAgents = agentsOf(ctx, [host]);
    cutTasks = tasks;
    r.injectedAt = Date.now();
    await ctx.lab.partition([minority, majority]);
    measured = Promise.all([
      watchElection(ctx, r, id, healed),
      watchTasks(ctx, r, tasks, cutAgents, healed),
    ]).then(() => {});
  } else if (kind === "slow") {
    const node = pick(ctx, nodeNames);
    r.target = node;
    r.injectedAt = Date.now();
    await ctx.lab.degrade(node, { delayMs: 200, lossPercent: 20 });
    undo = () => ctx.lab.restore(node);
  } else {
    const members = [...ctx.lab.members.keys()];
    const member = pick(ctx, ctx.random() < 0.5 ? nodeNames : members);
    r.target = member;
    r.injectedAt = Date.now();
    let stop = false;
    const flapping = (async () => {
      while (!stop) {
        await ctx.lab.setLink(member, false);
        await sleep(2000);
        await ctx.lab.setLink(member, true);
        if (!stop) await sleep(2000);
      }
    })();
    undo = async () => {
      stop = true;
      await flapping;
    };
  }
  return {
    record: r,
    heal: async () => {
      await undo();
      healedAt = Date.now();
      r.healedAt = healedAt;
    },
    done: async () => {
      await measured;
      // Late results: what the cut agents published for their held tasks after the cut began.
      for (const id of cutTasks)
        r.lateResults += (ctx.observers.runs.get(id) ?? []).filter(
          (x) => cutAgents.has(x.agentId) && x.seenAt > r.injectedAt + 500,
        ).length;
    },
  };
}
