// Where a command or library user finds NATS, the way the nats CLI does: explicit options first,
// then NATS_* environment variables, then a nats CLI context (named, NATS_CONTEXT, or the selected
// one), then nats://127.0.0.1:4222. One resolver for every command, so none of them differs.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import {
  DEFAULT_NATS_URL,
  decodeJson,
  type NatsAuth,
  NatsCliContext,
  type NatsConnectionConfig,
} from "../schemas/index.ts";
import { ConnectionConfigError } from "./errors.ts";

/** What a user may say about the connection (CLI flags or library options); all optional. */
export type ConnectionInput = {
  /** Comma-separated URLs, as --server and NATS_URL take them. */
  server?: string;
  /** A nats CLI context name, or a path to a context file. */
  context?: string;
  creds?: string;
  user?: string;
  password?: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsFirst?: boolean;
  inboxPrefix?: string;
};

export type ResolvedConnection = {
  config: NatsConnectionConfig;
  /** A server was named (flag, NATS_URL or context), as opposed to the default. */
  explicitServer: boolean;
  /** The context that was read, if any. */
  contextFile?: string;
};

type Env = Record<string, string | undefined>;

function configHome(env: Env): string {
  return env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
}

/** The context file to read: named (or a path), NATS_CONTEXT, or the nats CLI's selected one. */
export function contextFile(name: string | undefined, env: Env = process.env): string | undefined {
  const dir = join(configHome(env), "nats");
  const chosen = name ?? env.NATS_CONTEXT;
  if (chosen) {
    if (isAbsolute(chosen) || chosen.endsWith(".json")) return chosen;
    if (!/^[A-Za-z0-9_.-]+$/.test(chosen)) throw new ConnectionConfigError(`bad context name '${chosen}'`);
    return join(dir, "context", `${chosen}.json`);
  }
  const selected = join(dir, "context.txt");
  if (!existsSync(selected)) return undefined;
  const current = readFileSync(selected, "utf8").trim();
  const file = current ? join(dir, "context", `${current}.json`) : undefined;
  return file && existsSync(file) ? file : undefined;
}

function expandHome(path: string | undefined, env: Env): string | undefined {
  if (!path) return undefined;
  return path.startsWith("~/") ? join(env.HOME || homedir(), path.slice(2)) : path;
}

function readContext(file: string, required: boolean): NatsCliContext | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConnectionConfigError(`cannot read nats context ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = decodeJson(NatsCliContext, new TextEncoder().encode(text));
  if (!parsed.ok) throw new ConnectionConfigError(`nats context ${file}: ${parsed.message}`);
  return parsed.value;
}

const pick = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v !== "");

/** Resolves servers and credentials from what was given, the environment and the nats CLI context. */
export function resolveConnection(input: ConnectionInput = {}, env: Env = process.env): ResolvedConnection {
  const file = contextFile(input.context, env);
  const named = input.context !== undefined || env.NATS_CONTEXT !== undefined;
  const ctx = file ? readContext(file, named) : undefined;
  const server = pick(input.server, env.NATS_URL, ctx?.url);
  const servers = (server ?? DEFAULT_NATS_URL)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new ConnectionConfigError("no NATS server given");
  const tls = {
    ca: expandHome(pick(input.tlsCa, env.NATS_CA, ctx?.ca), env),
    cert: expandHome(pick(input.tlsCert, env.NATS_CERT, ctx?.cert), env),
    key: expandHome(pick(input.tlsKey, env.NATS_KEY, ctx?.key), env),
    handshakeFirst: input.tlsFirst || ctx?.tls_first || undefined,
  };
  if (Boolean(tls.cert) !== Boolean(tls.key))
    throw new ConnectionConfigError("a client certificate needs its key, and a key its certificate");
  const auth: NatsAuth = {
    creds: expandHome(pick(input.creds, env.NATS_CREDS, ctx?.creds), env),
    user: pick(input.user, env.NATS_USER, ctx?.user),
    password: pick(input.password, env.NATS_PASSWORD, ctx?.password),
    token: pick(input.token, env.NATS_TOKEN, ctx?.token),
    inboxPrefix: pick(input.inboxPrefix, env.NATS_INBOX_PREFIX, ctx?.inbox_prefix),
    ...(Object.values(tls).some(Boolean) && { tls: withoutUndefined(tls) }),
  };
  for (const url of servers) {
    if (/^[a-z]+:\/\/[^/]*@/i.test(url))
      throw new ConnectionConfigError(
        "credentials in a server URL would be shown wherever the URL is; use --user/--password, --token or --creds",
      );
  }
  return {
    config: { servers, ...withoutUndefined(auth) },
    explicitServer: server !== undefined,
    ...(file && ctx && { contextFile: file }),
  };
}

/** `o` without its undefined fields (for exactOptionalPropertyTypes). */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The connection's credentials without the servers (what each role's options take). */
export function authOf(config: NatsConnectionConfig): NatsAuth {
  const { servers: _servers, ...auth } = config;
  return auth;
}

/** Servers for logs and messages: URLs never carry credentials here, but say so if one did. */
export function displayServers(servers: string | string[]): string {
  return (Array.isArray(servers) ? servers : [servers])
    .map((s) => s.replace(/^([a-z]+:\/\/)[^/@]*@/i, "$1***@"))
    .join(",");
}
