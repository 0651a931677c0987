// Opens the KV buckets and object stores (created by ensureTopology) as one handle.
import type { JetStreamClient } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { ObjectStore } from "@nats-io/obj";
import { BUCKETS, OBJECT_STORES } from "./names.ts";
import { objectStores } from "./objects.ts";

export type SwarmState = {
  jobs: KV;
  agents: KV;
  leases: KV;
  scale: KV;
  pipelines: KV;
  docs: ObjectStore;
  results: ObjectStore;
};

export async function openState(js: JetStreamClient): Promise<SwarmState> {
  const kvm = new Kvm(js);
  const objm = objectStores(js);
  const [jobs, agents, leases, scale, pipelines, docs, results] = await Promise.all([
    kvm.open(BUCKETS.jobs),
    kvm.open(BUCKETS.agents),
    kvm.open(BUCKETS.leases),
    kvm.open(BUCKETS.scale),
    kvm.open(BUCKETS.pipelines),
    objm.open(OBJECT_STORES.docs),
    objm.open(OBJECT_STORES.results),
  ]);
  return { jobs, agents, leases, scale, pipelines, docs, results };
}
