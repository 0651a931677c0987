// Getting a nats-server and running one embedded.

export * from "./auth/index.ts";
export {
  defaultServerProcs,
  EmbeddedNatsServer,
  type EmbeddedServerOptions,
  SERVER_GUARD,
} from "./embedded-server.ts";
export {
  EmbeddedServerError,
  INFRA_ERROR_CODES,
  type InfraErrorCode,
  NatsDownloadError,
  NatsServerNotFoundError,
} from "./errors.ts";
export {
  cacheDir,
  cachedNatsServerPath,
  type EnsureOptions,
  ensureNatsServer,
  findNatsServer,
  MIN_NATS_SERVER,
  NATS_SERVER_RELEASE,
  type NatsServerBinary,
  parseNatsServerVersion,
} from "./nats-binary.ts";
export { checksumFor, releaseAsset } from "./nats-download.ts";
