// Reading what the server has and planning, per resource, what to change: the pure half of
// streams/topology.ts (which applies the plan). A role's user may not read everything; what it may
// not read is "unknown", neither missing nor checked.
import type { ConsumerConfig, JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { PermissionViolationError } from "@nats-io/transport-node";
import type { TopologyConfig } from "../schemas/index.ts";
import { ApiCodes, isApiError } from "./errors.ts";
import { BUILTIN_STAGES, FINALS_CONSUMER, STREAMS, subjects, TRIAGE_CONSUMER } from "./names.ts";
import { retryJetStream } from "./retry.ts";
import {
  askedFields,
  diffConsumer,
  diffStream,
  type FieldDiff,
  type ServerView,
  unbounded,
} from "./topology-diff.ts";
import {
  CONSUMER_SETTING_KEYS,
  type ConsumerSpec,
  META,
  type ResourceKind,
  type ResourceSpec,
  SETTING_KEYS,
  TOPOLOGY_VERSION,
} from "./topology-spec.ts";

export type PlanMode = "init" | "check";

export type ResourceChange = {
  /** A stream, bucket or object store name, or `<stream>/<consumer>`. */
  target: string;
  kind: ResourceKind | "consumer";
  action: "create" | "update" | "none";
  /** Fields this run changes (or, for a dry run, would change). */
  changes: FieldDiff[];
  /** Fields that differ from the spec and stay as they are (the operator's settings, or a role's check). */
  differs: FieldDiff[];
  /** Applying failed (the server refused: not allowed, or not changeable in place). */
  error?: string;
};

export function isMissing(err: unknown): boolean {
  return isApiError(err, ApiCodes.StreamNotFound, ApiCodes.ConsumerNotFound);
}

/** A stream or consumer exists with another config: someone created it meanwhile. */
export function isCreatedMeanwhile(err: unknown): boolean {
  return isApiError(err, ApiCodes.StreamNameInUse, ApiCodes.ConsumerAlreadyExists);
}

export function isDenied(err: unknown): boolean {
  return err instanceof PermissionViolationError || (err as Error)?.cause instanceof PermissionViolationError;
}

/**
 * What the server has. A role's NATS user may not read everything (a submitter sees the done
 * stream, not the task queues): what it may not read is "unknown", neither missing nor checked.
 */
export async function readView(
  jsm: JetStreamManager,
  specs: ResourceSpec[],
): Promise<ServerView & { consumers: Map<string, ConsumerConfig>; unknown: Set<string> }> {
  const streams = new Map<string, StreamConfig>();
  const unknown = new Set<string>();
  await Promise.all(
    specs.map(async (s) => {
      const info = await retryJetStream(() => jsm.streams.info(s.stream)).catch((err) => {
        if (isMissing(err)) return undefined;
        if (!isDenied(err)) throw err;
        unknown.add(s.stream);
        return undefined;
      });
      if (info) streams.set(s.stream, info.config);
    }),
  );
  const consumers = new Map<string, ConsumerConfig>();
  for (const stream of [STREAMS.submit, STREAMS.tasks, STREAMS.results, STREAMS.advisories, STREAMS.done]) {
    if (!streams.has(stream)) continue;
    const list = await retryJetStream(async () => {
      const out: ConsumerConfig[] = [];
      for await (const ci of jsm.consumers.list(stream)) out.push(ci.config);
      return out;
    }).catch((err) => {
      if (!isDenied(err)) throw err;
      unknown.add(`${stream}/*`);
      return [];
    });
    for (const c of list) if (c.durable_name) consumers.set(`${stream}/${c.durable_name}`, c);
  }
  return { streams, stageConsumer: consumers.get(`${STREAMS.submit}/split-normal`), consumers, unknown };
}

/** Stages beyond the built-in ones that have consumers on the task stream (someone added them). */
export function stagesIn(consumers: Map<string, ConsumerConfig>): string[] {
  const out = new Set<string>();
  for (const key of consumers.keys()) {
    const m = /^DOCSWARM_TASKS\/([a-z][a-z0-9-]*)-(high|normal|low)$/.exec(key);
    if (m && !(BUILTIN_STAGES as readonly string[]).includes(m[1]!)) out.add(m[1]!);
  }
  return [...out];
}

export function foundVersion(view: ServerView): number | null {
  if (view.streams.size === 0) return null;
  let v = 0;
  for (const s of view.streams.values()) v = Math.max(v, Number(s.metadata?.[META.version] ?? 1) || 1);
  return v;
}

export function withMetadata(spec: ResourceSpec, config: TopologyConfig): ResourceSpec {
  const metadata: Record<string, string> = { [META.version]: String(TOPOLOGY_VERSION) };
  if (spec.stream === STREAMS.submit) metadata[META.settings] = JSON.stringify(config);
  return { ...spec, config: { ...spec.config, metadata } };
}

/** Which differences init applies: structural ones, asked settings, limits missing, replicas raised. */
function initApplies(d: FieldDiff): boolean {
  if (d.kind === "structural" || d.asked) return true;
  if (d.field === "num_replicas") return (d.to as number) > (d.from as number);
  return unbounded(d.field, d.from);
}

export function planStream(
  spec: ResourceSpec,
  existing: StreamConfig | undefined,
  mode: PlanMode,
  asked: ReadonlySet<string>,
): ResourceChange {
  const base = { target: spec.name, kind: spec.kind };
  if (!existing) return { ...base, action: "create", changes: [], differs: [] };
  const fields = askedFields(SETTING_KEYS[spec.stream] ?? {}, asked);
  const diffs = diffStream(existing, spec.config, fields);
  // Metadata of an older layout is only rewritten by init.
  const changes = mode === "init" ? diffs.filter(initApplies) : [];
  const differs = diffs.filter(
    (d) => !changes.includes(d) && !(mode === "check" && d.field.startsWith("metadata.")),
  );
  return { ...base, action: changes.length > 0 ? "update" : "none", changes, differs };
}

export function planConsumer(
  spec: ConsumerSpec,
  existing: ConsumerConfig | undefined,
  streamReplicas: number,
  mode: PlanMode,
  asked: ReadonlySet<string>,
): ResourceChange {
  const base = { target: `${spec.stream}/${spec.config.durable_name}`, kind: "consumer" as const };
  if (!existing) return { ...base, action: "create", changes: [], differs: [] };
  const fields = askedFields(CONSUMER_SETTING_KEYS, asked);
  fields.delete("num_replicas");
  const diffs = diffConsumer(existing, spec.config, streamReplicas, fields);
  const changes = mode === "init" ? diffs.filter((d) => d.kind === "structural" || d.asked) : [];
  return {
    ...base,
    action: changes.length > 0 ? "update" : "none",
    changes,
    differs: diffs.filter((d) => !changes.includes(d)),
  };
}

/**
 * The triage consumer on a layout before 3, where split-normal still takes plain docswarm.submit: a
 * work queue refuses overlapping consumers, so only `docswarm init` (which narrows split-normal
 * first) can create it. A role checking such a layout reports it and runs as that layout does.
 */
export function triageAwaitsInit(
  spec: ConsumerSpec,
  consumers: Map<string, ConsumerConfig>,
): ResourceChange | undefined {
  if (spec.stream !== STREAMS.submit || spec.config.durable_name !== TRIAGE_CONSUMER) return undefined;
  if (consumers.has(`${spec.stream}/${TRIAGE_CONSUMER}`)) return undefined;
  const takesPlain = [...consumers].some(
    ([key, c]) =>
      key.startsWith(`${STREAMS.submit}/`) &&
      (c.filter_subject === subjects.submit || (c.filter_subjects ?? []).includes(subjects.submit)),
  );
  if (!takesPlain) return undefined;
  return {
    target: `${spec.stream}/${TRIAGE_CONSUMER}`,
    kind: "consumer",
    action: "none",
    changes: [],
    differs: [
      {
        field: "filter_subjects",
        from: undefined,
        to: spec.config.filter_subjects,
        kind: "structural",
        asked: false,
      },
    ],
  };
}

/**
 * The coordinator's finals consumer (layout 4) on a server of an older layout: `docswarm init`
 * creates it, together with the layout mark agents read before they stop publishing split results.
 * A role checking such a layout reports it and runs as that layout does (the coordinator looks for
 * the consumer again while it leads; agents announce through split results meanwhile).
 */
export function finalsAwaitInit(
  spec: ConsumerSpec,
  consumers: Map<string, ConsumerConfig>,
  found: number | null,
): ResourceChange | undefined {
  if (spec.stream !== STREAMS.done || spec.config.durable_name !== FINALS_CONSUMER) return undefined;
  if (found === null || found >= 4 || consumers.has(`${spec.stream}/${FINALS_CONSUMER}`)) return undefined;
  return {
    target: `${spec.stream}/${FINALS_CONSUMER}`,
    kind: "consumer",
    action: "none",
    changes: [],
    differs: [
      { field: "durable_name", from: undefined, to: FINALS_CONSUMER, kind: "structural", asked: false },
    ],
  };
}
