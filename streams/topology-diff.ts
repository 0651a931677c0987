// Comparing what the server has with what docswarm's topology spec asks for, field by field, and
// deriving the settings in force from what the server has (so nothing an operator set is reset).
import type { ConsumerConfig, StreamConfig } from "@nats-io/jetstream";
import {
  type TopologyConfig,
  type TopologyOptions,
  TopologyConfig as TopologySchema,
} from "../schemas/index.ts";
import {
  CONSUMER_SETTING_KEYS,
  META,
  type ResourceSpec,
  SETTING_FIELDS,
  SETTING_KEYS,
  type SettingKeys,
} from "./topology-spec.ts";

export type FieldDiff = {
  field: string;
  /** What the server has (undefined: not set). */
  from: unknown;
  /** What docswarm's spec asks for. */
  to: unknown;
  /** "setting": an operator's knob (limits, replicas, timings); "structural": docswarm relies on it. */
  kind: "setting" | "structural";
  /** Set by the caller's options, not a default. */
  asked: boolean;
};

const NS_PER_MS = 1_000_000;

/** A value as the server reports it when unset: booleans false, lists and maps empty. */
function normal(field: string, v: unknown): unknown {
  if (v === undefined || v === null) {
    if (field.startsWith("allow_") || field.startsWith("deny_") || field === "mem_storage") return false;
    return undefined;
  }
  if (Array.isArray(v)) return field === "backoff" ? v : [...v].map(String).sort();
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .filter((k) => o[k] !== undefined && o[k] !== false)
        .sort()
        .map((k) => [k, o[k]]),
    );
  }
  return v;
}

function same(field: string, a: unknown, b: unknown): boolean {
  return JSON.stringify(normal(field, a)) === JSON.stringify(normal(field, b));
}

function fieldDiff(field: string, from: unknown, to: unknown, asked: ReadonlySet<string>): FieldDiff {
  return {
    field,
    from,
    to,
    kind: SETTING_FIELDS.has(field) ? "setting" : "structural",
    asked: asked.has(field),
  };
}

/** Fields of `desired` that differ on `existing` (metadata compared only on docswarm's own keys). */
export function diffStream(
  existing: StreamConfig,
  desired: Partial<StreamConfig>,
  asked: ReadonlySet<string>,
): FieldDiff[] {
  const out: FieldDiff[] = [];
  for (const [field, to] of Object.entries(desired)) {
    if (field === "name" || field === "metadata") continue;
    const from = (existing as unknown as Record<string, unknown>)[field];
    // Republish's headers_only defaults to false on the server.
    if (same(field, from, to)) continue;
    out.push(fieldDiff(field, from, to, asked));
  }
  for (const [key, to] of Object.entries(desired.metadata ?? {})) {
    const from = existing.metadata?.[key];
    if (from !== to) out.push({ field: `metadata.${key}`, from, to, kind: "structural", asked: false });
  }
  return out;
}

/** Consumer fields that differ; filters compared as one set whichever field holds them. */
export function diffConsumer(
  existing: ConsumerConfig,
  desired: Partial<ConsumerConfig>,
  streamReplicas: number,
  asked: ReadonlySet<string>,
): FieldDiff[] {
  const filters = (c: Partial<ConsumerConfig>) =>
    c.filter_subjects?.length ? c.filter_subjects : c.filter_subject ? [c.filter_subject] : [];
  const out: FieldDiff[] = [];
  for (const [field, to] of Object.entries(desired)) {
    if (field === "description" || field === "filter_subject" || field === "filter_subjects") continue;
    let from = (existing as unknown as Record<string, unknown>)[field];
    // 0 replicas follows the stream: a consumer at the stream's count is the same thing.
    if (field === "num_replicas" && to === 0 && from === streamReplicas) from = 0;
    if (field === "max_deliver" && from === -1) from = undefined;
    if (same(field, from, to)) continue;
    out.push(fieldDiff(field, from, to, asked));
  }
  if (!same("filters", filters(existing), filters(desired)))
    out.push({
      field: "filter_subjects",
      from: filters(existing),
      to: filters(desired),
      kind: "structural",
      asked: false,
    });
  return out;
}

/** True when a stream setting is absent or unlimited on the server (so a limit must be set). */
export function unbounded(field: string, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (field === "max_age") return value === 0;
  if (field === "max_bytes" || field === "max_msgs" || field === "max_msg_size") return (value as number) < 0;
  return false;
}

/** The TopologyConfig keys given in `options` (not defaults). */
export function askedKeys(options: TopologyOptions): Set<string> {
  return new Set(Object.entries(options).flatMap(([k, v]) => (v === undefined ? [] : [k])));
}

/** Stream (or consumer) fields whose TopologyConfig key was asked for. */
export function askedFields(keys: SettingKeys, asked: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const [field, key] of Object.entries(keys)) if (key && asked.has(key)) out.add(field);
  if (asked.has("replicas")) out.add("num_replicas");
  return out;
}

function fromServer(field: string, value: unknown): unknown {
  if (unbounded(field, value)) return undefined;
  if (field === "max_age" || field === "duplicate_window" || field === "ack_wait")
    return (value as number) / NS_PER_MS;
  if (field === "backoff") return (value as number[]).map((ns) => ns / NS_PER_MS);
  return value;
}

export type ServerView = {
  streams: Map<string, StreamConfig>;
  /** The split-normal consumer, which carries the stage settings. */
  stageConsumer: ConsumerConfig | undefined;
};

/**
 * The settings in force: docswarm's defaults, under what the last `docswarm init` recorded, under
 * what the server's streams and consumers actually have, under what the caller asked for.
 */
export function settingsInForce(
  view: ServerView,
  specs: ResourceSpec[],
  options: TopologyOptions,
  /** "asked": the caller's options win (docswarm init); "server": what the server has wins (roles). */
  winner: "asked" | "server" = "asked",
): { config: TopologyConfig; recorded: boolean } {
  const merged: Record<string, unknown> = {};
  const submit = [...view.streams.values()].find((s) => s.metadata?.[META.settings]);
  let recorded = false;
  if (submit) {
    try {
      Object.assign(merged, JSON.parse(submit.metadata![META.settings]!));
      recorded = true;
    } catch {
      // An unreadable record: derive from the streams alone.
    }
  }
  // A key set on several streams (the dedup window, ages shared by two) is read from the first.
  const derived: Record<string, unknown> = {};
  let replicas = 0;
  for (const spec of specs) {
    const have = view.streams.get(spec.stream);
    if (!have) continue;
    replicas = Math.max(replicas, have.num_replicas);
    for (const [field, key] of Object.entries(SETTING_KEYS[spec.stream] ?? {})) {
      const v = fromServer(field, (have as unknown as Record<string, unknown>)[field]);
      if (key && v !== undefined && !(key in derived)) derived[key] = v;
    }
  }
  Object.assign(merged, derived);
  if (replicas > 0) merged.replicas = replicas;
  const c = view.stageConsumer;
  if (c) {
    for (const [field, key] of Object.entries(CONSUMER_SETTING_KEYS)) {
      const v = fromServer(field, (c as unknown as Record<string, unknown>)[field]);
      if (key && v !== undefined) merged[key] = v;
    }
  }
  const asked = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  // Extra stages accumulate: a stage someone added stays.
  const extraStages = [
    ...new Set([...((merged.extraStages as string[]) ?? []), ...((asked.extraStages as string[]) ?? [])]),
  ];
  const layered = winner === "asked" ? { ...merged, ...asked } : { ...asked, ...merged };
  const parsed = TopologySchema.safeParse({ ...layered, extraStages });
  if (parsed.success) return { config: parsed.data, recorded };
  // Something recorded or derived is out of range: fall back to defaults under the caller's options.
  return { config: TopologySchema.parse(options), recorded };
}
