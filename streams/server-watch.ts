// Keeping a connection on a server that can serve JetStream. A nats-server cut off from the rest of
// its cluster (a network partition, a node on the wrong side of it) keeps its client connections
// alive, but it has no quorum: every JetStream request on it times out, then answers "JetStream
// system temporarily unavailable" (10008), until the partition heals. The NATS client does not
// move by itself (the TCP connection is fine), so a role on that server would sit idle: an agent
// pulls nothing, a standby coordinator cannot take over. Likewise a connection whose server went
// silent (a cut cable: no RST) is only noticed when pings go unanswered.
//
// So every docswarm connection that knows more than one server asks its server for JetStream's
// account info every `intervalMs`; after `failures` answers in a row that say "not now" (timeout,
// no responders, 10008) it reconnects, which picks another server from the pool. A cluster-wide
// election (a few seconds of 10008 everywhere) is shorter than that, and a needless move costs
// only a reconnect. The partition drill (`npm run partition`) measures what it buys.
import type { NatsConnection } from "@nats-io/transport-node";

export type ConnectionLog = (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;

export type WatchOptions = {
  log?: ConnectionLog;
  intervalMs?: number;
  /** Consecutive "JetStream unavailable here" answers before moving to another server. */
  failures?: number;
};

const CLUSTER_UNAVAILABLE = 10008;
const decoder = new TextDecoder();

/** Whether this connection's server answers JetStream API requests. */
async function serves(nc: NatsConnection, timeoutMs: number): Promise<boolean> {
  try {
    const r = await nc.request("$JS.API.INFO", undefined, { timeout: timeoutMs });
    const body = JSON.parse(decoder.decode(r.data)) as { error?: { code?: number; err_code?: number } };
    return !(body.error?.err_code === CLUSTER_UNAVAILABLE || body.error?.code === 503);
  } catch (err) {
    const name = (err as Error).name;
    // Timeouts and "no responders" mean this server cannot reach JetStream; anything else
    // (permissions: a user without $JS.API.INFO) says nothing about the server.
    return !(
      name === "TimeoutError" ||
      name === "NoRespondersError" ||
      /timeout|no responders/i.test(String(err))
    );
  }
}

function knowsOtherServers(nc: NatsConnection, configured: number): boolean {
  return configured > 1 || (nc.info?.connect_urls?.length ?? 0) > 1;
}

/** Logs the connection's status changes and moves it off a server that cannot serve JetStream. */
export function watchConnection(nc: NatsConnection, configured: number, options: WatchOptions = {}): void {
  const log = options.log;
  const intervalMs = options.intervalMs ?? 2000;
  const limit = options.failures ?? 3;
  if (log)
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") log("warn", "disconnected from NATS", { server: s.server });
        else if (s.type === "reconnect") log("info", "reconnected to NATS", { server: s.server });
        else if (s.type === "staleConnection") log("warn", "NATS server stopped answering pings");
        else if (s.type === "ldm") log("info", "NATS server entering lame duck mode; moving");
      }
    })().catch(() => {});
  let failed = 0;
  let probing = false;
  const timer = setInterval(() => {
    if (probing || nc.isClosed() || !knowsOtherServers(nc, configured)) return;
    probing = true;
    void serves(nc, intervalMs).then(async (ok) => {
      probing = false;
      failed = ok ? 0 : failed + 1;
      if (failed < limit || nc.isClosed() || nc.isDraining()) return;
      failed = 0;
      log?.("warn", "NATS server cannot serve JetStream (cut off from its cluster?); moving to another", {
        server: nc.getServer(),
      });
      await nc.reconnect().catch(() => {});
    });
  }, intervalMs);
  timer.unref();
  void nc.closed().then(() => clearInterval(timer));
}
