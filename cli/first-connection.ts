// The first NATS connection of a long-running role (agent, coordinator, dashboard).
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsConnectionConfig } from "../schemas/index.ts";
import { connectNatsWhenUp, displayServers } from "../streams/index.ts";
import type { LogFn } from "./log.ts";
import { shutdownSignal } from "./signals.ts";

/**
 * A role's first connection. Roles may start before NATS (a host booting, a cluster restarting), so
 * they wait for it, saying so every 10 s; Ctrl-C meanwhile ends the command (undefined).
 */
export async function firstConnection(
  config: NatsConnectionConfig,
  name: string,
  log: LogFn,
): Promise<NatsConnection | undefined> {
  const url = displayServers(config.servers);
  const signal = shutdownSignal();
  let saidAt = 0;
  try {
    return await connectNatsWhenUp(
      { ...config, name },
      {
        signal,
        onWait: (attempt, err) => {
          if (Date.now() - saidAt < 10_000) return;
          saidAt = Date.now();
          log("warn", "waiting for NATS", { url, attempt, err: err.message });
        },
      },
    );
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  }
}
