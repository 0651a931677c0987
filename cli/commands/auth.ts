// docswarm auth: NATS accounts, users and TLS for a swarm (infra/auth/), with the permissions of
// each role (streams/permissions.ts).
//   docswarm auth init DIR [--tls] [--tls-host H]... [--resolver memory|full] [--listen H:P] [--force]
//   docswarm auth add-user NAME --role ROLE --dir DIR [--force]
//   docswarm auth revoke NAME --dir DIR
//   docswarm auth list --dir DIR
//   docswarm auth permissions ROLE
import { parseArgs } from "node:util";
import { addUser, initAuthDir, listUsers, type PermissionsFor, revokeUser } from "../../infra/index.ts";
import { ROLES, type Role, rolePermissions } from "../../streams/index.ts";
import { UsageError } from "../errors.ts";

const permissionsFor: PermissionsFor = (role, user) => rolePermissions(role as Role, user);

function role(value: string | undefined): Role {
  if (!value || !(ROLES as readonly string[]).includes(value))
    throw new UsageError(`--role: one of ${ROLES.join(", ")}`);
  return value as Role;
}

function dirOf(values: { dir?: string | undefined }, positional?: string): string {
  const dir = values.dir ?? positional ?? process.env.DOCSWARM_AUTH_DIR;
  if (!dir) throw new UsageError("give the auth directory (--dir DIR or DOCSWARM_AUTH_DIR)");
  return dir;
}

export async function authCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      role: { type: "string" },
      tls: { type: "boolean", default: false },
      "tls-host": { type: "string", multiple: true, default: [] },
      resolver: { type: "string", default: "memory" },
      listen: { type: "string" },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const [action, arg] = positionals;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (action) {
    case "init": {
      const dir = dirOf(values, arg);
      if (values.resolver !== "memory" && values.resolver !== "full")
        throw new UsageError("--resolver: memory or full");
      const hosts = values["tls-host"].length > 0 ? values["tls-host"] : ["localhost", "127.0.0.1", "::1"];
      const r = await initAuthDir({
        dir,
        users: ROLES.map((r) => ({ name: r, role: r })),
        permissionsFor,
        ...(values.tls && { tls: { hosts } }),
        resolver: values.resolver,
        ...(values.listen && { listen: values.listen }),
        force: values.force,
      });
      if (values.json) out(JSON.stringify({ dir, ...r }));
      else {
        out(`docswarm auth: ${dir}`);
        for (const f of r.created) out(`  created    ${f}`);
        for (const f of r.refreshed) out(`  refreshed  ${f} (same key, current permissions)`);
        out(`start NATS with: nats-server -c ${dir}/nats-server.conf`);
        out(
          `then every role connects with its own user, e.g. docswarm agent --auth ${dir} -s nats://HOST:4222`,
        );
      }
      return 0;
    }
    case "add-user": {
      if (!arg) throw new UsageError("docswarm auth add-user NAME --role ROLE --dir DIR");
      const r = await addUser(
        dirOf(values),
        { name: arg, role: role(values.role) },
        permissionsFor,
        values.force,
      );
      out(
        values.json
          ? JSON.stringify(r)
          : `${r.name} (${r.role}) ${r.publicKey}: ${dirOf(values)}/${r.name}.creds`,
      );
      return 0;
    }
    case "revoke": {
      if (!arg) throw new UsageError("docswarm auth revoke NAME --dir DIR");
      const r = await revokeUser(dirOf(values), arg);
      out(`${r.name} (${r.publicKey}) revoked in auth.conf: reload the server (nats-server --signal reload)`);
      return 0;
    }
    case "list": {
      for (const u of await listUsers(dirOf(values, arg)))
        out(values.json ? JSON.stringify(u) : `${u.name}  ${u.role}  ${u.publicKey}`);
      return 0;
    }
    case "permissions": {
      const r = role(arg);
      out(JSON.stringify(rolePermissions(r, r), null, 2));
      return 0;
    }
    default:
      throw new UsageError(
        "docswarm auth init DIR | add-user NAME --role R --dir DIR | revoke NAME | list | permissions ROLE",
      );
  }
}
