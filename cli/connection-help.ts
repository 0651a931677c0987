// The help text of the connection flags cli/connection-flags.ts parses, apart from the parser so
// that `docswarm --help` loads no NATS or auth code.
export const CONNECTION_HELP = `Connection (as the nats CLI): -s/--server URL[,URL] (NATS_URL; default nats://127.0.0.1:4222),
  --context NAME (NATS_CONTEXT; ~/.config/nats/context/NAME.json), --creds FILE (NATS_CREDS),
  --user/--password (NATS_USER, NATS_PASSWORD), --token (NATS_TOKEN), --tls-ca FILE (NATS_CA),
  --tls-cert/--tls-key FILE (NATS_CERT, NATS_KEY: mutual TLS), --tls-first, --inbox-prefix P,
  --auth DIR (a 'docswarm auth init' directory: the command's role's .creds and the CA).
`;
