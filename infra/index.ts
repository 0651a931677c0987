// Getting a nats-server and running one embedded.

export * from "./auth/index.ts";
export { EmbeddedNatsServer, EmbeddedServerError, type EmbeddedServerOptions } from "./embedded-server.ts";
export {
  findNatsServer,
  MIN_NATS_SERVER,
  NatsServerNotFoundError,
  parseNatsServerVersion,
} from "./nats-binary.ts";
