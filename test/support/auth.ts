// A nats-server running a `docswarm auth init` directory's accounts (optionally with TLS), and plain
// NATS clients for its users that use nats.js directly, not docswarm's connection code.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  PermissionViolationError,
} from "@nats-io/transport-node";
import type { ExecutionContext } from "ava";
import { EmbeddedNatsServer, embeddedAuthConfig, initAuthDir } from "../../infra/index.ts";
import { ensureTopology, ROLES, type Role, rolePermissions } from "../../streams/index.ts";
import { tempDir } from "./cli.ts";

export type AuthServer = {
  dir: string;
  url: string;
  server: EmbeddedNatsServer;
  tls: boolean;
  /** Lines of the server log that report a permissions violation. */
  violations(): Promise<string[]>;
};

/** `docswarm auth init` into a temp dir, a server with its config, and the topology made by admin. */
export async function startAuthServer(
  t: ExecutionContext,
  /** `topology: false` leaves the server without one (for roles that must wait for it). */
  opts: { tls?: boolean; maxPayloadBytes?: number; topology?: boolean } = {},
): Promise<AuthServer> {
  const dir = await tempDir(t, "docswarm-auth-");
  await initAuthDir({
    dir,
    users: ROLES.map((r) => ({ name: r, role: r })),
    permissionsFor: (role, user) => rolePermissions(role as Role, user),
    ...(opts.tls && { tls: { hosts: ["localhost", "127.0.0.1"] } }),
  });
  const server = await EmbeddedNatsServer.start({
    extraConfig: embeddedAuthConfig(dir),
    ...(opts.maxPayloadBytes && { maxPayloadBytes: opts.maxPayloadBytes }),
  });
  t.teardown(() => server.close());
  const s: AuthServer = {
    dir,
    url: server.url,
    server,
    tls: opts.tls ?? false,
    violations: async () =>
      (await readFile(server.logFile, "utf8")).split("\n").filter((l) => /Permissions Violation/i.test(l)),
  };
  if (opts.topology !== false) await ensureTopology(await plainClient(t, s, "admin"));
  return s;
}

/** A plain nats.js connection as `user` (its .creds, its private inbox, the CA under TLS). */
export async function plainClient(t: ExecutionContext, s: AuthServer, user: string): Promise<NatsConnection> {
  const nc = await connect({
    servers: s.url,
    name: `plain-${user}`,
    authenticator: credsAuthenticator(readFileSync(join(s.dir, `${user}.creds`))),
    inboxPrefix: `_INBOX_${user}`,
    ...(s.tls && { tls: { caFile: join(s.dir, "tls", "ca.pem") } }),
  });
  t.teardown(() => nc.close());
  return nc;
}

/**
 * Runs `attempt` and returns the permissions violation the server answered it with: requests
 * reject with it, plain publishes and subscriptions report it on the connection's status.
 */
export async function refusal(
  nc: NatsConnection,
  attempt: () => unknown,
  subject?: string,
  timeoutMs = 5000,
): Promise<PermissionViolationError | undefined> {
  // Only this attempt's violation counts: another one's may still be on its way.
  const mine = (e: unknown): e is PermissionViolationError =>
    e instanceof PermissionViolationError && (subject === undefined || e.subject === subject);
  const status = nc.status();
  const reported = (async () => {
    for await (const s of status) {
      if (s.type === "error" && mine(s.error)) return s.error;
    }
    return undefined;
  })();
  try {
    await attempt();
    await nc.flush();
  } catch (err) {
    if (mine(err)) return err;
    const cause = (err as { cause?: unknown }).cause;
    if (mine(cause)) return cause;
  }
  const abort = new AbortController();
  const found = await Promise.race([
    reported,
    sleep(timeoutMs, undefined, { signal: abort.signal }).catch(() => undefined),
  ]);
  abort.abort();
  return found;
}
