// Using an auth directory: each role's way in (its .creds, the CA when there is one) and the line
// that gives an embedded nats-server the same accounts and TLS.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AuthDirMissingError } from "../errors.ts";

export type DirAuth = { creds: string; tls?: { ca: string } };

/** The connection settings of user `name` (by default the role's own user, named after it). */
export function authFromDir(dir: string, name: string): DirAuth {
  const creds = resolve(dir, `${name}.creds`);
  if (!existsSync(creds))
    throw new AuthDirMissingError(`no ${name}.creds in ${dir} (docswarm auth init ${dir}, or auth add-user)`);
  const ca = resolve(dir, "tls", "ca.pem");
  return { creds, ...(existsSync(ca) && { tls: { ca } }) };
}

/** nats-server config bringing in DIR's operator, accounts, resolver and TLS: auth.conf itself (an include would resolve relative to the including file). */
export function embeddedAuthConfig(dir: string): string {
  const conf = resolve(dir, "auth.conf");
  if (!existsSync(conf))
    throw new AuthDirMissingError(`no auth.conf in ${dir}: run 'docswarm auth init ${dir}'`);
  return readFileSync(conf, "utf8");
}

/** Whether DIR's server uses TLS (it then has a CA clients must trust). */
export function authDirHasTls(dir: string): boolean {
  return existsSync(join(dir, "tls", "server.pem"));
}
