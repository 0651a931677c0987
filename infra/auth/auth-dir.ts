// `docswarm auth init DIR`: NATS's own decentralized auth, written with the NATS team's libraries. An
// operator signs two accounts (docswarm and the system account); the docswarm account signs one user
// per role, each a standard .creds file any NATS client reads. The server trusts the operator and
// preloads the account JWTs (memory or full resolver), so adding a user never touches the server.
//
//   DIR/keys/{operator,account,system}.nk   seeds, 0600: who holds them can mint users
//   DIR/<user>.creds                         user JWT + seed, 0600
//   DIR/users.json                           name, role and public key of every user; revocations
//   DIR/operator.jwt, DIR/system.jwt         written once per key (a reload needs the same operator)
//   DIR/auth.conf                            operator, system account, resolver (+ tls {})
//   DIR/nats-server.conf                     listen, JetStream, include auth.conf
//   DIR/tls/{ca,server}.pem, *-key.pem       with --tls
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from "@nats-io/jwt";
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from "@nats-io/nkeys";
import { AuthDirError } from "../errors.ts";
import { createCa, issueCertificate } from "./tls.ts";

/** The permissions of one user, as the user JWT carries them (same shape as streams/permissions.ts). */
export type UserPermissions = {
  pub: { allow: string[]; deny?: string[] };
  sub: { allow: string[]; deny?: string[] };
  resp?: { max: number; ttlMs: number };
};
export type PermissionsFor = (role: string, user: string) => UserPermissions;

export type UserRecord = { name: string; role: string; publicKey: string };
type UsersFile = { users: UserRecord[]; revoked: Record<string, number> };

export type AuthInitOptions = {
  dir: string;
  /** Users to have (created when missing; existing ones keep their keys and get fresh JWTs). */
  users: { name: string; role: string }[];
  permissionsFor: PermissionsFor;
  /** Write a CA and a server certificate for these host names and addresses, and tls {}. */
  tls?: { hosts: string[] };
  resolver?: "memory" | "full";
  /** Where the standalone server listens (nats-server.conf); default 127.0.0.1:4222. */
  listen?: string;
  /** Replace existing keys (every existing .creds stops working). */
  force?: boolean;
};

export type AuthInitResult = { created: string[]; kept: string[]; refreshed: string[] };

const enc = new TextEncoder();
const dec = new TextDecoder();
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

async function writeSecret(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** An nkey from DIR/keys/<name>.nk, created (or replaced with force) when missing. */
async function key(dir: string, name: string, create: () => KeyPair, force: boolean, made: string[]) {
  const path = join(dir, "keys", `${name}.nk`);
  if (!force && existsSync(path)) return fromSeed(enc.encode((await readFile(path, "utf8")).trim()));
  const kp = create();
  await writeSecret(path, dec.decode(kp.getSeed()));
  made.push(`keys/${name}.nk`);
  return kp;
}

async function readUsers(dir: string): Promise<UsersFile> {
  const path = join(dir, "users.json");
  if (!existsSync(path)) return { users: [], revoked: {} };
  return JSON.parse(await readFile(path, "utf8")) as UsersFile;
}

function jwtPermissions(p: UserPermissions) {
  return {
    pub: { allow: p.pub.allow, deny: p.pub.deny ?? [] },
    sub: { allow: p.sub.allow, deny: p.sub.deny ?? [] },
    ...(p.resp && { resp: { max: p.resp.max, ttl: p.resp.ttlMs * 1e6 } }),
  };
}

/** The user's seed from its .creds, so a re-issued JWT keeps the user's key. */
async function seedOfCreds(path: string): Promise<KeyPair | undefined> {
  if (!existsSync(path)) return undefined;
  const m = /-----BEGIN USER NKEY SEED-----\s*(SU[A-Z2-7]+)\s*------END USER NKEY SEED------/.exec(
    await readFile(path, "utf8"),
  );
  return m ? fromSeed(enc.encode(m[1]!)) : undefined;
}

async function issueUser(
  dir: string,
  account: KeyPair,
  name: string,
  role: string,
  permissionsFor: PermissionsFor,
  force: boolean,
): Promise<{ record: UserRecord; created: boolean }> {
  if (!NAME.test(name)) throw new AuthDirError(`user name '${name}': 1-64 of A-Z a-z 0-9 _ -`);
  const path = join(dir, `${name}.creds`);
  const existing = force ? undefined : await seedOfCreds(path);
  const user = existing ?? createUser();
  const perms = jwtPermissions(permissionsFor(role, name));
  const jwt = await encodeUser(name, user, account, { ...perms, tags: [`role:${role}`] } as never);
  await writeSecret(path, fmtCreds(jwt, user));
  return { record: { name, role, publicKey: user.getPublicKey() }, created: !existing };
}

async function accountJwt(operator: KeyPair, account: KeyPair, revoked: Record<string, number>) {
  return encodeAccount(
    "docswarm",
    account,
    {
      limits: {
        subs: -1,
        data: -1,
        payload: -1,
        imports: -1,
        exports: -1,
        wildcards: true,
        conn: -1,
        leaf: -1,
        mem_storage: -1,
        disk_storage: -1,
        streams: -1,
        consumer: -1,
      },
      ...(Object.keys(revoked).length > 0 && { revocations: revoked }),
    },
    { signer: operator },
  );
}

/** The JWT in `path` if it is still about `subject`, else a new one (written there). */
async function stableJwt(path: string, subject: string, make: () => Promise<string>): Promise<string> {
  if (existsSync(path)) {
    const jwt = (await readFile(path, "utf8")).trim();
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      sub?: string;
    };
    if (claims.sub === subject) return jwt;
  }
  const jwt = await make();
  await writeFile(path, `${jwt}\n`);
  return jwt;
}

async function writeServerConfig(
  dir: string,
  keys: { operator: KeyPair; account: KeyPair; system: KeyPair },
  users: UsersFile,
  opts: Pick<AuthInitOptions, "resolver" | "listen"> & { tls: boolean },
): Promise<void> {
  // The operator and system account JWTs stay as first written: nats-server reloads account changes
  // (a revocation) but refuses a reload whose trusted operator differs in any way.
  const operatorJwt = await stableJwt(join(dir, "operator.jwt"), keys.operator.getPublicKey(), () =>
    encodeOperator("docswarm", keys.operator, { system_account: keys.system.getPublicKey() }),
  );
  const systemJwt = await stableJwt(join(dir, "system.jwt"), keys.system.getPublicKey(), () =>
    encodeAccount("SYS", keys.system, {}, { signer: keys.operator }),
  );
  const docswarmJwt = await accountJwt(keys.operator, keys.account, users.revoked);
  const abs = resolve(dir);
  const resolver =
    opts.resolver === "full"
      ? `resolver {\n  type: full\n  dir: ${JSON.stringify(join(abs, "jwt"))}\n  allow_delete: false\n  interval: "2m"\n}`
      : "resolver: MEMORY";
  const tls = opts.tls
    ? [
        "tls {",
        `  cert_file: ${JSON.stringify(join(abs, "tls", "server.pem"))}`,
        `  key_file: ${JSON.stringify(join(abs, "tls", "server-key.pem"))}`,
        `  ca_file: ${JSON.stringify(join(abs, "tls", "ca.pem"))}`,
        "  timeout: 5",
        "}",
      ].join("\n")
    : "";
  const auth = [
    "# Written by `docswarm auth init`: who the server trusts. Regenerated on every run (keys are kept).",
    `operator: ${JSON.stringify(operatorJwt)}`,
    `system_account: ${keys.system.getPublicKey()}`,
    "# Room for user JWTs with long permission lists in CONNECT (the default is 4KB).",
    "max_control_line: 16KB",
    resolver,
    "resolver_preload: {",
    `  ${keys.system.getPublicKey()}: ${JSON.stringify(systemJwt)}`,
    `  ${keys.account.getPublicKey()}: ${JSON.stringify(docswarmJwt)}`,
    "}",
    tls,
    "",
  ].join("\n");
  await writeFile(join(dir, "auth.conf"), auth, { mode: 0o644 });
  const server = [
    "# A nats-server for docswarm with its accounts and users (docswarm auth init). Edit freely:",
    "# listen, server_name, store_dir, cluster {}; auth.conf is rewritten by docswarm.",
    `server_name: docswarm`,
    `listen: ${JSON.stringify(opts.listen ?? "127.0.0.1:4222")}`,
    "max_payload: 1MB",
    `jetstream { store_dir: ${JSON.stringify(join(abs, "jetstream"))} }`,
    'include "auth.conf"',
    "",
  ].join("\n");
  const serverPath = join(dir, "nats-server.conf");
  if (!existsSync(serverPath)) await writeFile(serverPath, server);
}

async function loadKeys(dir: string, force: boolean, made: string[]) {
  await mkdir(join(dir, "keys"), { recursive: true, mode: 0o700 });
  return {
    operator: await key(dir, "operator", createOperator, force, made),
    account: await key(dir, "account", createAccount, force, made),
    system: await key(dir, "system", createAccount, force, made),
  };
}

async function ensureTls(dir: string, hosts: string[], force: boolean, made: string[]): Promise<void> {
  const tlsDir = join(dir, "tls");
  await mkdir(tlsDir, { recursive: true });
  const caPath = join(tlsDir, "ca.pem");
  const caKeyPath = join(tlsDir, "ca-key.pem");
  let ca: { cert: string; key: string };
  if (!force && existsSync(caPath) && existsSync(caKeyPath)) {
    ca = { cert: await readFile(caPath, "utf8"), key: await readFile(caKeyPath, "utf8") };
  } else {
    ca = createCa();
    await writeFile(caPath, ca.cert);
    await writeSecret(caKeyPath, ca.key);
    made.push("tls/ca.pem", "tls/ca-key.pem");
  }
  const serverPath = join(tlsDir, "server.pem");
  if (force || !existsSync(serverPath) || made.includes("tls/ca.pem")) {
    const server = issueCertificate(ca, "docswarm nats-server", hosts, "server");
    await writeFile(serverPath, server.cert);
    await writeSecret(join(tlsDir, "server-key.pem"), server.key);
    made.push("tls/server.pem", "tls/server-key.pem");
  }
}

export async function initAuthDir(opts: AuthInitOptions): Promise<AuthInitResult> {
  const force = opts.force ?? false;
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  const keys = await loadKeys(opts.dir, force, made);
  const file = force ? { users: [], revoked: {} } : await readUsers(opts.dir);
  const result: AuthInitResult = { created: [], kept: [], refreshed: [] };
  const wanted = [...file.users.filter((u) => !opts.users.some((w) => w.name === u.name)), ...opts.users];
  const records: UserRecord[] = [];
  for (const u of wanted) {
    const { record, created } = await issueUser(
      opts.dir,
      keys.account,
      u.name,
      u.role,
      opts.permissionsFor,
      force,
    );
    records.push(record);
    (created ? result.created : result.refreshed).push(`${u.name}.creds`);
  }
  result.created.unshift(...made);
  const users = { users: records, revoked: file.revoked };
  await writeFile(join(opts.dir, "users.json"), `${JSON.stringify(users, null, 2)}\n`);
  const tls = Boolean(opts.tls) || existsSync(join(opts.dir, "tls", "server.pem"));
  if (opts.tls) await ensureTls(opts.dir, opts.tls.hosts, force, result.created);
  await writeServerConfig(opts.dir, keys, users, { ...opts, tls });
  return result;
}

async function existingKeys(dir: string) {
  if (!existsSync(join(dir, "keys", "account.nk")))
    throw new AuthDirError(`${dir} has no docswarm auth keys: run 'docswarm auth init ${dir}' first`);
  return loadKeys(dir, false, []);
}

/** Adds (or, with force, replaces) one user; the server needs no change. */
export async function addUser(
  dir: string,
  user: { name: string; role: string },
  permissionsFor: PermissionsFor,
  force = false,
): Promise<UserRecord> {
  const keys = await existingKeys(dir);
  const file = await readUsers(dir);
  if (!force && existsSync(join(dir, `${user.name}.creds`)))
    throw new AuthDirError(`${user.name}.creds exists; --force replaces its key`);
  const { record } = await issueUser(dir, keys.account, user.name, user.role, permissionsFor, force);
  file.users = [...file.users.filter((u) => u.name !== user.name), record];
  await writeFile(join(dir, "users.json"), `${JSON.stringify(file, null, 2)}\n`);
  return record;
}

/**
 * Revokes a user's key in the account JWT and rewrites auth.conf: once the server reloads it
 * (`nats-server --signal reload`, or a restart) connections with that key are refused.
 */
export async function revokeUser(dir: string, name: string): Promise<UserRecord> {
  const keys = await existingKeys(dir);
  const file = await readUsers(dir);
  const user = file.users.find((u) => u.name === name);
  if (!user) throw new AuthDirError(`no user '${name}' in ${join(dir, "users.json")}`);
  file.revoked[user.publicKey] = Math.floor(Date.now() / 1000);
  file.users = file.users.filter((u) => u.name !== name);
  await writeFile(join(dir, "users.json"), `${JSON.stringify(file, null, 2)}\n`);
  const tls = existsSync(join(dir, "tls", "server.pem"));
  const conf = await readFile(join(dir, "auth.conf"), "utf8");
  await writeServerConfig(dir, keys, file, { resolver: /type: full/.test(conf) ? "full" : "memory", tls });
  return user;
}

/** The users recorded in DIR. */
export async function listUsers(dir: string): Promise<UserRecord[]> {
  return (await readUsers(dir)).users;
}
