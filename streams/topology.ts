// Bringing the server's topology in line with docswarm's spec (streams/topology-spec.ts), in one of
// two modes. "init" is the operator's (`docswarm init`, an embedded server): create what is missing,
// migrate what an older docswarm wrote, set what the operator asked for, and leave every other
// setting as the server has it. "check" is every other role's: create what is missing (if allowed)
// with the settings in force, report differences, change nothing that exists.
import {
  type ConsumerConfig,
  type JetStreamManager,
  jetstreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import {
  type TopologyConfig,
  type TopologyOptions,
  TopologyConfig as TopologySchema,
} from "../schemas/index.ts";
import { ApiCodes, isApiError } from "./errors.ts";
import { BUILTIN_STAGES, STREAMS } from "./names.ts";
import { retryJetStream } from "./retry.ts";
import {
  askedFields,
  askedKeys,
  diffConsumer,
  diffStream,
  type FieldDiff,
  type ServerView,
  settingsInForce,
  unbounded,
} from "./topology-diff.ts";
import {
  CONSUMER_SETTING_KEYS,
  type ConsumerSpec,
  consumerSpecs,
  META,
  type ResourceKind,
  type ResourceSpec,
  resourceSpecs,
  SETTING_KEYS,
  stageConsumerSpecs,
  TOPOLOGY_VERSION,
} from "./topology-spec.ts";

const MiB = 1024 * 1024;

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

export type TopologyReport = {
  mode: "init" | "check";
  dryRun: boolean;
  /** The layout version this docswarm writes. */
  version: number;
  /** The version found on the server: null when there was no topology, 1 for an unmarked one. */
  found: number | null;
  changes: ResourceChange[];
  /** Resources that are still missing (a role that may not create them). */
  missing: string[];
  /** The settings in force. */
  config: TopologyConfig;
  maxPayloadBytes: number;
};

/** What ensureTopology returned before it had a report; kept for callers that only need these. */
export type Topology = { config: TopologyConfig; maxPayloadBytes: number };

export type ApplyOptions = {
  mode: "init" | "check";
  /** Plan only: read the server, change nothing. */
  dryRun?: boolean;
  /** In check mode, whether missing resources may be created (default true). */
  create?: boolean;
};

function isMissing(err: unknown): boolean {
  return isApiError(err, ApiCodes.StreamNotFound, ApiCodes.ConsumerNotFound);
}

/** A stream or consumer exists with another config: someone created it meanwhile. */
function isCreatedMeanwhile(err: unknown): boolean {
  return isApiError(err, ApiCodes.StreamNameInUse, ApiCodes.ConsumerAlreadyExists);
}

function isDenied(err: unknown): boolean {
  return err instanceof PermissionViolationError || (err as Error)?.cause instanceof PermissionViolationError;
}

/**
 * What the server has. A role's NATS user may not read everything (a submitter sees the done
 * stream, not the task queues): what it may not read is "unknown", neither missing nor checked.
 */
async function readView(
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
  for (const stream of [STREAMS.submit, STREAMS.tasks, STREAMS.results, STREAMS.advisories]) {
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
function stagesIn(consumers: Map<string, ConsumerConfig>): string[] {
  const out = new Set<string>();
  for (const key of consumers.keys()) {
    const m = /^DOCSWARM_TASKS\/([a-z][a-z0-9-]*)-(high|normal|low)$/.exec(key);
    if (m && !(BUILTIN_STAGES as readonly string[]).includes(m[1]!)) out.add(m[1]!);
  }
  return [...out];
}

function foundVersion(view: ServerView): number | null {
  if (view.streams.size === 0) return null;
  let v = 0;
  for (const s of view.streams.values()) v = Math.max(v, Number(s.metadata?.[META.version] ?? 1) || 1);
  return v;
}

function withMetadata(spec: ResourceSpec, config: TopologyConfig): ResourceSpec {
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

function planStream(
  spec: ResourceSpec,
  existing: StreamConfig | undefined,
  mode: ApplyOptions["mode"],
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

function planConsumer(
  spec: ConsumerSpec,
  existing: ConsumerConfig | undefined,
  streamReplicas: number,
  mode: ApplyOptions["mode"],
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

function withoutServerKeys(metadata: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([k]) => !k.startsWith("_nats")));
}

async function createResource(nc: NatsConnection, jsm: JetStreamManager, spec: ResourceSpec): Promise<void> {
  const metadata = spec.config.metadata;
  if (spec.kind === "stream") {
    await retryJetStream(() => jsm.streams.add(spec.config));
    return;
  }
  // A copy each: the clients delete fields from the options object they are given.
  if (spec.kind === "kv")
    await retryJetStream(() => new Kvm(nc).create(spec.name, { ...spec.library, metadata }));
  else await retryJetStream(() => new Objm(nc).create(spec.name, { ...spec.library, metadata }));
  // Fields the client libraries do not set (metadata on older ones, per-key TTL flags).
  const info = await retryJetStream(() => jsm.streams.info(spec.stream));
  const left = diffStream(info.config, spec.config, new Set()).filter((d) => !d.field.startsWith("_"));
  if (left.length > 0) await updateStream(jsm, info.config, spec.config, left);
}

async function updateStream(
  jsm: JetStreamManager,
  existing: StreamConfig,
  desired: Partial<StreamConfig>,
  changes: FieldDiff[],
): Promise<void> {
  const patch: Record<string, unknown> = {};
  for (const c of changes) if (!c.field.startsWith("metadata.")) patch[c.field] = c.to;
  const metadata = { ...withoutServerKeys(existing.metadata), ...(desired.metadata ?? {}) };
  await retryJetStream(() => jsm.streams.update(existing.name, { ...existing, ...patch, metadata }));
}

async function applyConsumer(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
  change: ResourceChange,
): Promise<void> {
  if (change.action === "create") {
    await retryJetStream(() => jsm.consumers.add(spec.stream, spec.config));
    return;
  }
  const patch: Record<string, unknown> = {};
  for (const c of change.changes) patch[c.field] = spec.config[c.field as keyof ConsumerConfig];
  await retryJetStream(() => jsm.consumers.update(spec.stream, spec.config.durable_name, patch));
}

/** Reads the server, plans, and (unless a dry run) applies; see the module header for the modes. */
export async function applyTopology(
  nc: NatsConnection,
  options: TopologyOptions,
  apply: ApplyOptions,
): Promise<TopologyReport> {
  const maxPayloadBytes = nc.info?.max_payload ?? MiB;
  const jsm = await retryJetStream(() => jetstreamManager(nc));
  // Names and kinds do not depend on settings: read the server with the defaults' specs first.
  const names = resourceSpecs(TopologySchema.parse({}), maxPayloadBytes);
  const view = await readView(jsm, names);
  const found = foundVersion(view);
  // A cluster without any topology yet gets three replicas unless asked otherwise.
  const opts: TopologyOptions =
    found === null && options.replicas === undefined && nc.info?.cluster
      ? { ...options, replicas: 3 }
      : options;
  const asked = askedKeys(opts);
  const discovered = stagesIn(view.consumers);
  const { config } = settingsInForce(
    view,
    names,
    { ...opts, extraStages: [...(opts.extraStages ?? []), ...discovered] },
    apply.mode === "init" ? "asked" : "server",
  );
  const specs = resourceSpecs(config, maxPayloadBytes).map((s) => withMetadata(s, config));
  const changes: ResourceChange[] = [];
  const missing: string[] = [];
  const mayCreate = apply.mode === "init" || apply.create !== false;

  for (const spec of specs) {
    if (view.unknown.has(spec.stream)) continue;
    const existing = view.streams.get(spec.stream);
    const change = planStream(spec, existing, apply.mode, asked);
    changes.push(change);
    if (change.action === "create" && !mayCreate) {
      change.action = "none";
      missing.push(spec.name);
    }
    if (apply.dryRun || change.action === "none") continue;
    try {
      if (change.action === "create") await createResource(nc, jsm, spec);
      else await updateStream(jsm, existing!, spec.config, change.changes);
    } catch (err) {
      if (change.action === "create" && isCreatedMeanwhile(err)) continue;
      change.error = isDenied(err) ? `not allowed: ${(err as Error).message}` : (err as Error).message;
      if (change.action === "create") missing.push(spec.name);
    }
  }
  const planned = new Map(
    specs.filter((s) => !missing.includes(s.name)).map((s) => [s.stream, s.config as StreamConfig]),
  );
  for (const spec of consumerSpecs(config)) {
    const stream = view.streams.get(spec.stream) ?? planned.get(spec.stream);
    if (!stream || view.unknown.has(`${spec.stream}/*`)) continue;
    const change = planConsumer(
      spec,
      view.consumers.get(`${spec.stream}/${spec.config.durable_name}`),
      stream.num_replicas,
      apply.mode,
      asked,
    );
    changes.push(change);
    if (change.action === "create" && !mayCreate) {
      change.action = "none";
      missing.push(change.target);
    }
    if (apply.dryRun || change.action === "none") continue;
    await applyConsumer(jsm, spec, change).catch((err: Error) => {
      if (change.action === "create" && isCreatedMeanwhile(err)) return;
      change.error = isDenied(err) ? `not allowed: ${err.message}` : err.message;
      if (change.action === "create") missing.push(change.target);
    });
  }
  return {
    mode: apply.mode,
    dryRun: apply.dryRun === true,
    version: TOPOLOGY_VERSION,
    found,
    changes,
    missing,
    config,
    maxPayloadBytes,
  };
}

/** The operator's set-up: create or migrate everything; what `options` names is set as given. */
export async function initTopology(
  nc: NatsConnection,
  options: TopologyOptions = {},
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<TopologyReport> {
  return applyTopology(nc, options, { mode: "init", dryRun });
}

/**
 * The operator's set-up as a library call (tests, embedded servers): initTopology, throwing when
 * any part could not be applied.
 */
export async function ensureTopology(
  nc: NatsConnection,
  options: TopologyOptions = {},
): Promise<TopologyReport> {
  const report = await initTopology(nc, options);
  const failed = report.changes.filter((c) => c.error);
  if (failed.length > 0)
    throw new Error(`topology: ${failed.map((c) => `${c.target}: ${c.error}`).join("; ")}`);
  return report;
}

/**
 * A stage's consumers, created when missing with the settings in force (what the operator set,
 * read from the server); existing ones are never changed. Safe to call many times.
 */
export async function ensureStage(
  nc: NatsConnection,
  stage: string,
  options: TopologyOptions = {},
): Promise<void> {
  const jsm = await retryJetStream(() => jetstreamManager(nc));
  const submit = await retryJetStream(() => jsm.streams.info(STREAMS.submit)).catch(() => undefined);
  const split = await retryJetStream(() => jsm.consumers.info(STREAMS.submit, "split-normal")).catch(
    () => undefined,
  );
  const view: ServerView = {
    streams: new Map(submit ? [[STREAMS.submit, submit.config]] : []),
    stageConsumer: split?.config,
  };
  const { config } = settingsInForce(view, [], options, "server");
  for (const spec of stageConsumerSpecs(config, stage)) {
    const exists = await retryJetStream(() => jsm.consumers.info(spec.stream, spec.config.durable_name)).then(
      () => true,
      (err) => {
        if (isMissing(err)) return false;
        throw err;
      },
    );
    if (!exists) await retryJetStream(() => jsm.consumers.add(spec.stream, spec.config));
  }
}
