// One place that opens NATS connections, so every process names itself and reconnects the same way.

import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { setSha256Backend } from "@nats-io/obj";
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  PermissionViolationError,
} from "@nats-io/transport-node";
import type { NatsAuth } from "../schemas/index.ts";
import { inboxPrefixFromCreds } from "./creds.ts";
import { writeLargeFramesInPlace } from "./large-writes.ts";
import { type ConnectionLog, watchConnection } from "./server-watch.ts";

// The object store hashes every object it stores and checks every one it reads; its default is a
// pure-JS SHA-256 (for browsers). node:crypto is several times faster. Process-wide, per thread.
setSha256Backend("native");

export type ConnectOptions = NatsAuth & {
  servers: string | string[];
  name: string;
  /** Where the connection's status changes go (disconnects, reconnects, moving off a server). */
  log?: ConnectionLog;
};

// nats.js builds an Error (with a captured stack) for every request, JetStream publish and ack
// wait, just in case it fails: a tenth of an agent's CPU and much of its garbage on the no-op path.
// DOCSWARM_ASYNC_TRACES=1 brings those stacks back when debugging a failing request.

const asyncTraces = process.env.DOCSWARM_ASYNC_TRACES === "1";

/**
 * A connection that reconnects forever and, in a cluster, moves off a server that cannot serve
 * JetStream (server-watch.ts).
 */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    noAsyncTraces: !asyncTraces,
    ...authOptions(opts),
  });
  writeLargeFramesInPlace(nc);
  watchConnection(
    nc,
    Array.isArray(opts.servers) ? opts.servers.length : 1,
    opts.log ? { log: opts.log } : {},
  );
  return nc;
}

/** NatsAuth as nats.js connection options; files are read here, never copied into the options we keep. */
export function authOptions(auth: NatsAuth): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (auth.creds) {
    const creds = readFileSync(auth.creds);
    out.authenticator = credsAuthenticator(creds);
    const inbox = auth.inboxPrefix ?? inboxPrefixFromCreds(creds);
    if (inbox) out.inboxPrefix = inbox;
  } else if (auth.inboxPrefix) {
    out.inboxPrefix = auth.inboxPrefix;
  }
  if (auth.token) out.token = auth.token;
  if (auth.user) {
    out.user = auth.user;
    out.pass = auth.password ?? "";
  }
  if (auth.tls) {
    out.tls = {
      ...(auth.tls.ca && { caFile: auth.tls.ca }),
      ...(auth.tls.cert && { certFile: auth.tls.cert }),
      ...(auth.tls.key && { keyFile: auth.tls.key }),
      ...(auth.tls.handshakeFirst && { handshakeFirst: true }),
    };
  }
  return out;
}

export type WaitForServerOptions = {
  /** Called on each failed attempt (the caller decides how often to say so). */
  onWait?: (attempt: number, err: Error) => void;
  /** Stops waiting (Ctrl-C): the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Longest pause between attempts. */
  maxDelayMs?: number;
};

/**
 * connectNats for long-running roles, which may start before the server does (a host booting,
 * a cluster restarting): retries while the server refuses or does not answer, with backoff, until
 * it connects or `signal` aborts. Other errors (authorization, bad URL) fail at once.
 */
export async function connectNatsWhenUp(
  opts: ConnectOptions,
  wait: WaitForServerOptions = {},
): Promise<NatsConnection> {
  const maxDelayMs = wait.maxDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    wait.signal?.throwIfAborted();
    try {
      return await connectNats(opts);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (e.name !== "ConnectionError" && !/timeout/i.test(e.name)) throw e;
      wait.onWait?.(attempt, e);
      await sleep(Math.min(maxDelayMs, 100 * 2 ** attempt), undefined, { signal: wait.signal });
    }
  }
}

/** NATS_URL, else undefined (callers then start the embedded server). */
export function natsUrlFromEnv(): string | undefined {
  const url = process.env.NATS_URL?.trim();
  return url ? url : undefined;
}

/** A refusal by the server's permissions (requests reject with a RequestError caused by it). */
export function isPermissionViolation(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof PermissionViolationError) return true;
  }
  return false;
}

/** A connection's reply-subject prefix (what its `_INBOX`-style subscriptions must be allowed). */
export function inboxPrefixOf(nc: NatsConnection): string {
  return (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix || "_INBOX";
}

/**
 * Drains a connection (flushes what is buffered, lets subscriptions finish), but never waits more
 * than `timeoutMs`: against a server that is gone, drain would wait for a reconnect forever.
 */
export async function drainConnection(nc: NatsConnection, timeoutMs = 2000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const outcome = await Promise.race([
    nc.drain().then(
      () => "drained" as const,
      () => "failed" as const,
    ),
    timedOut,
  ]);
  clearTimeout(timer);
  if (outcome !== "drained") await nc.close().catch(() => {});
}
