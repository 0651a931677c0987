// The connection flags every command that talks to a swarm takes, spelled as the nats CLI spells
// them (-s/--server, --context, --creds, --user/--password, --token, TLS), with the same NATS_*
// variables, plus --auth DIR: a `docswarm auth init` directory, from which each command picks its
// role's .creds and the CA. One parser, so every command reads them the same way.
import { authFromDir } from "../infra/index.ts";
import type { NatsAuth } from "../schemas/index.ts";
import {
  ConnectionConfigError,
  type ConnectionInput,
  type ResolvedConnection,
  type Role,
  resolveConnection,
  withoutUndefined,
} from "../streams/index.ts";
import { UsageError } from "./errors.ts";

export const CONNECTION_OPTIONS = {
  server: { type: "string", short: "s" },
  context: { type: "string" },
  creds: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  token: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-first": { type: "boolean" },
  "inbox-prefix": { type: "string" },
  auth: { type: "string" },
  // The nats CLI's spellings.
  tlsca: { type: "string" },
  tlscert: { type: "string" },
  tlskey: { type: "string" },
} as const;

type Flags = Partial<Record<keyof typeof CONNECTION_OPTIONS, string | boolean | undefined>>;

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

export type CommandConnection = ResolvedConnection & {
  /** The --auth directory, when one was given. */
  authDir?: string;
};

/**
 * Servers and credentials for a command acting as `role`: flags, then NATS_* variables, then the
 * nats CLI context; --auth DIR adds the role's .creds and the CA (explicit flags still win).
 */
export function commandConnection(values: Flags, role: Role): CommandConnection {
  const authDir = str(values.auth);
  const fromDir: Partial<NatsAuth> = authDir ? authFromDirOrUsage(authDir, role) : {};
  const input: ConnectionInput = {
    ...withoutUndefined({
      server: str(values.server),
      context: str(values.context),
      creds: str(values.creds) ?? fromDir.creds,
      user: str(values.user),
      password: str(values.password),
      token: str(values.token),
      tlsCa: str(values["tls-ca"]) ?? str(values.tlsca) ?? fromDir.tls?.ca,
      tlsCert: str(values["tls-cert"]) ?? str(values.tlscert),
      tlsKey: str(values["tls-key"]) ?? str(values.tlskey),
      inboxPrefix: str(values["inbox-prefix"]),
    }),
    ...(values["tls-first"] === true && { tlsFirst: true }),
  };
  try {
    return { ...resolveConnection(input), ...(authDir && { authDir }) };
  } catch (err) {
    if (err instanceof ConnectionConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function authFromDirOrUsage(dir: string, role: Role): NatsAuth {
  try {
    return authFromDir(dir, role);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
