// Getting a nats-server and running one embedded.

export * from "./auth/index.ts";
export { EmbeddedNatsServer, type EmbeddedServerOptions } from "./embedded-server.ts";
export { EmbeddedServerError, INFRA_ERROR_CODES, NatsServerNotFoundError } from "./errors.ts";
export { findNatsServer, MIN_NATS_SERVER, parseNatsServerVersion } from "./nats-binary.ts";
