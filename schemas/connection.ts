// How a process reaches NATS: servers and credentials, the way NATS tools take them. Files are named
// by path and read when connecting, so what travels (to agent threads, in options objects) holds no
// key material unless the caller chose a password or token.
import { z } from "zod";

/** The nats CLI's default server. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

export const NatsTls = z.object({
  /** CA certificate(s), PEM: the server's certificate must chain to one of them. */
  ca: z.string().min(1).optional(),
  /** Client certificate and key, PEM, for servers that verify clients (mutual TLS). */
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** TLS before the NATS INFO exchange (servers configured with handshake_first). */
  handshakeFirst: z.boolean().optional(),
});
export type NatsTls = z.infer<typeof NatsTls>;

/** Credentials and TLS, without the servers: one role's way in. */
export const NatsAuth = z.object({
  /** A .creds file (user JWT and nkey seed), as nsc and `docswarm auth init` write them. */
  creds: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  token: z.string().min(1).optional(),
  tls: NatsTls.optional(),
  /**
   * Prefix of this connection's reply subjects. Users that may only subscribe to their own inbox
   * (docswarm's generated users: `_INBOX_<name>.>`) need it; read from the creds when not given.
   */
  inboxPrefix: z
    .string()
    .regex(/^[^\s*>]+$/, "no spaces or wildcards")
    .optional(),
});
export type NatsAuth = z.infer<typeof NatsAuth>;

export const NatsConnectionConfig = NatsAuth.extend({
  servers: z.array(z.string().min(1)).min(1),
});
export type NatsConnectionConfig = z.infer<typeof NatsConnectionConfig>;

/** A context file of the nats CLI (~/.config/nats/context/NAME.json); the fields docswarm uses. */
export const NatsCliContext = z.looseObject({
  url: z.string().optional(),
  token: z.string().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  creds: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  ca: z.string().optional(),
  inbox_prefix: z.string().optional(),
  tls_first: z.boolean().optional(),
});
export type NatsCliContext = z.infer<typeof NatsCliContext>;
