// What a CLI role does about the topology before it starts: check it, creating what is missing when
// the role may (agents, coordinators), or waiting for it when it only reads (dashboard, watch).
// Ctrl-C while waiting ends the command (undefined).
import type { NatsConnection } from "@nats-io/transport-node";
import type { TopologyConfig, TopologyOptions } from "../schemas/index.ts";
import { checkTopology } from "../streams/index.ts";
import type { LogFn } from "./log.ts";
import { shutdownSignal } from "./signals.ts";

export async function roleTopology(
  nc: NatsConnection,
  options: TopologyOptions,
  create: boolean,
  log: LogFn,
): Promise<TopologyConfig | undefined> {
  const signal = shutdownSignal();
  try {
    return (await checkTopology(nc, options, { create, log, signal })).config;
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  }
}
