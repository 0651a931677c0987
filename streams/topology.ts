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
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type TopologyConfig,
  type TopologyOptions,
  TopologyConfig as TopologySchema,
} from "../schemas/index.ts";
import { STREAMS } from "./names.ts";
import { retryJetStream } from "./retry.ts";
import { askedKeys, diffStream, type FieldDiff, type ServerView, settingsInForce } from "./topology-diff.ts";
import {
  finalsAwaitInit,
  foundVersion,
  isCreatedMeanwhile,
  isDenied,
  isMissing,
  planConsumer,
  planStream,
  type ResourceChange,
  readView,
  stagesIn,
  triageAwaitsInit,
  withMetadata,
} from "./topology-plan.ts";
import {
  type ConsumerSpec,
  consumerSpecs,
  type ResourceSpec,
  resourceSpecs,
  stageConsumerSpecs,
  TOPOLOGY_VERSION,
} from "./topology-spec.ts";

export type { ResourceChange } from "./topology-plan.ts";

const MiB = 1024 * 1024;

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

/** One planned write; `run` resolves to the name of what it failed to create, if it did. */
type PhaseStep = { create: boolean; run: () => Promise<string | undefined> };

/**
 * A phase's writes (the streams, then their consumers). Only creations go out together: a fresh
 * server's ~30 resources are a round trip each, which in sequence was most of `docswarm process`'s
 * topology start-up. A migration's updates keep their order (a work queue refuses a consumer whose
 * filter overlaps another's until that one's filter has changed). The names come back in order.
 */
async function runPhase(steps: PhaseStep[]): Promise<string[]> {
  let failed: Array<string | undefined>;
  if (steps.every((s) => s.create)) failed = await Promise.all(steps.map((s) => s.run()));
  else {
    failed = [];
    for (const s of steps) failed.push(await s.run());
  }
  return failed.filter((f) => f !== undefined);
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

  const marks: Array<{ spec: (typeof specs)[number]; change: ResourceChange }> = [];
  const streamWork: PhaseStep[] = [];
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
    streamWork.push({
      create: change.action === "create",
      run: async () => {
        try {
          if (change.action === "create") await createResource(nc, jsm, spec);
          else {
            // A stream's layout mark is written after the consumers below: an agent that reads a new
            // mark finds what it names already there (layout 4's finals consumer, which delivers only
            // finals stored after its creation).
            const fields = change.changes.filter((c) => !c.field.startsWith("metadata."));
            if (fields.length > 0) await updateStream(jsm, existing!, {}, fields);
            if (fields.length < change.changes.length) marks.push({ spec, change });
          }
        } catch (err) {
          if (change.action === "create" && isCreatedMeanwhile(err)) return undefined;
          change.error = isDenied(err) ? `not allowed: ${(err as Error).message}` : (err as Error).message;
          if (change.action === "create") return spec.name;
        }
        return undefined;
      },
    });
  }
  missing.push(...(await runPhase(streamWork)));
  const planned = new Map(
    specs
      .filter((s) => !missing.includes(s.name) && !view.unknown.has(s.stream))
      .map((s) => [s.stream, s.config as StreamConfig]),
  );
  const consumerWork: PhaseStep[] = [];
  for (const spec of consumerSpecs(config)) {
    const stream = view.streams.get(spec.stream) ?? planned.get(spec.stream);
    if (!stream || view.unknown.has(`${spec.stream}/*`)) continue;
    const awaitsInit =
      apply.mode === "check"
        ? (triageAwaitsInit(spec, view.consumers) ?? finalsAwaitInit(spec, view.consumers, found))
        : undefined;
    if (awaitsInit) {
      changes.push(awaitsInit);
      continue;
    }
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
    consumerWork.push({
      create: change.action === "create",
      run: () =>
        applyConsumer(jsm, spec, change).then(
          () => undefined,
          (err: Error) => {
            if (change.action === "create" && isCreatedMeanwhile(err)) return undefined;
            change.error = isDenied(err) ? `not allowed: ${err.message}` : err.message;
            return change.action === "create" ? change.target : undefined;
          },
        ),
    });
  }
  missing.push(...(await runPhase(consumerWork)));
  for (const { spec, change } of marks) {
    try {
      const now = (await retryJetStream(() => jsm.streams.info(spec.stream))).config;
      await updateStream(jsm, now, spec.config, change.changes);
    } catch (err) {
      change.error = isDenied(err) ? `not allowed: ${(err as Error).message}` : (err as Error).message;
    }
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
