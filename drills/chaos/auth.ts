// The chaos run under NATS auth: an auth directory with a user per role, coordinators started with
// the coordinator's .creds and agent hosts with a user holding the agent role's permissions plus the
// chaos control subject (a test facility no production role has). The harness itself, which must
// see everything it checks, connects as a user allowed everything.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addUser, embeddedAuthConfig, initAuthDir, type PermissionsFor } from "../../infra/index.ts";
import type { NatsAuth } from "../../schemas/index.ts";
import { ROLES, type Role, rolePermissions } from "../../streams/index.ts";

export type ChaosAuth = {
  /** nats-server config for the embedded server. */
  serverConfig: string;
  harness: NatsAuth;
  /** CLI arguments that make a role process connect as its user. */
  roleArgs(role: "agent" | "coordinator"): string[];
  close(): Promise<void>;
};

export async function chaosAuth(): Promise<ChaosAuth> {
  const dir = await mkdtemp(join(tmpdir(), "docswarm-chaos-auth-"));
  const roles: PermissionsFor = (role, user) => rolePermissions(role as Role, user);
  await initAuthDir({ dir, users: ROLES.map((r) => ({ name: r, role: r })), permissionsFor: roles });
  await addUser(dir, { name: "chaos-agent", role: "agent" }, (role, user) => {
    const p = roles(role, user);
    return {
      ...p,
      sub: { allow: [...p.sub.allow, "docswarm.chaos.>"] },
      resp: { max: 1, ttlMs: 10_000 },
    };
  });
  await addUser(dir, { name: "chaos-harness", role: "harness" }, () => ({
    pub: { allow: [">"] },
    sub: { allow: [">"] },
  }));
  return {
    serverConfig: embeddedAuthConfig(dir),
    harness: { creds: join(dir, "chaos-harness.creds") },
    roleArgs: (role) => ["--creds", join(dir, role === "agent" ? "chaos-agent.creds" : "coordinator.creds")],
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
