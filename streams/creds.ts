// Reading the public half of a .creds file: the user JWT, whose claims say what the user may do.
// The seed stays where it is; nats.js's credsAuthenticator reads it when signing the server's nonce.

const JWT_BLOCK = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_\-.=]+)\s*------END NATS USER JWT------/;

export type UserClaims = {
  name?: string;
  sub?: string;
  nats?: { pub?: { allow?: string[] }; sub?: { allow?: string[] } };
};

/** The claims of the user JWT in a .creds file, undefined when it has none. */
export function userClaimsFromCreds(creds: Uint8Array | string): UserClaims | undefined {
  const text = typeof creds === "string" ? creds : new TextDecoder().decode(creds);
  const jwt = JWT_BLOCK.exec(text)?.[1];
  const payload = jwt?.split(".")[1];
  if (!payload) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as UserClaims;
  } catch {
    return undefined;
  }
}

/**
 * The inbox prefix a user must use when its JWT lets it subscribe only under a private prefix
 * (`_INBOX_<name>.>`, not the shared `_INBOX.>`); undefined when the default inbox is allowed or
 * nothing says.
 */
export function inboxPrefixFromCreds(creds: Uint8Array | string): string | undefined {
  const allow = userClaimsFromCreds(creds)?.nats?.sub?.allow;
  if (!allow || allow.includes("_INBOX.>") || allow.includes(">")) return undefined;
  const own = allow.filter((s) => /^_INBOX[^.*>]*\.>$/.test(s)).map((s) => s.slice(0, -2));
  return own.length === 1 ? own[0] : undefined;
}
