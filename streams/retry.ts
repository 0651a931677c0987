// Retrying JetStream API calls through leader elections. When a cluster node dies, every stream and
// consumer it led elects a new leader (seconds); meanwhile requests time out, publishes find no
// responder (the stream has no leader to store them) and the API answers "temporarily
// unavailable". Those conditions are recognised by error class and JetStream API code, never by
// message text, and retried with backoff within a bounded time; anything else fails at once.
import { NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { ApiCodes, isApiError, isStatusError, NoStreamError, PublishTimeoutError } from "./errors.ts";

/** JetStream API error codes (nats-server errors.json) that mean "no leader right now, try again". */
export const TRANSIENT_API_CODES: readonly number[] = [
  ApiCodes.ClusterNotAvailable,
  ApiCodes.ClusterNotLeader,
  ApiCodes.ClusterNotAssigned,
  ApiCodes.StreamOffline,
  ApiCodes.ConsumerOffline,
  ApiCodes.ExpectedLastSeqPerSubjectNotReady,
];

function isNoResponders(err: unknown): boolean {
  if (err instanceof NoRespondersError || err instanceof NoStreamError) return true;
  if (err instanceof RequestError) return err.isNoResponders();
  if (!(err instanceof Error)) return false;
  // js.publish and the JetStream API wrap "no responders" as JetStreamNotEnabled (not exported by
  // @nats-io/jetstream, told by name) with that cause; a pull no consumer leader answered is a
  // status error 503.
  if (err.name === "JetStreamNotEnabled") return isNoResponders(err.cause);
  return isStatusError(err, 503);
}

function isTimeout(err: unknown): boolean {
  return err instanceof TimeoutError || err instanceof PublishTimeoutError;
}

export type TransientKind = "timeout" | "no-responders" | "unavailable";

/** Why `err` is worth retrying during a leader election, or undefined when it is not. */
export function transientKind(err: unknown): TransientKind | undefined {
  if (isTimeout(err)) return "timeout";
  if (isNoResponders(err)) return "no-responders";
  if (isApiError(err, ...TRANSIENT_API_CODES)) return "unavailable";
  // Some calls wrap the cause once more (a RequestError around a TimeoutError).
  if (err instanceof Error && err.cause && err.cause !== err) return transientKind(err.cause);
  return undefined;
}

export function isTransient(err: unknown): boolean {
  return transientKind(err) !== undefined;
}

export type RetryOptions = {
  /** Give up (rethrow the last error) once this much time has passed; default 30 s. */
  budgetMs?: number;
  /** First pause; doubles per attempt up to maxDelayMs, with jitter. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Whether a timeout may be retried. A timed-out write may have been stored, so only writes that
   * are idempotent (a Nats-Msg-Id within the dedup window, an expected sequence) retry timeouts.
   */
  retryTimeouts?: boolean;
  signal?: AbortSignal;
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
};

/** Default time to wait out an election: several election timeouts, under load. */
export const DEFAULT_RETRY_BUDGET_MS = 30_000;

/** Runs `call`, retrying it while it fails with a transient JetStream condition. */
export async function retryJetStream<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? DEFAULT_RETRY_BUDGET_MS);
  const first = options.firstDelayMs ?? 100;
  const max = options.maxDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await call();
    } catch (err) {
      const kind = transientKind(err);
      if (!kind || (kind === "timeout" && options.retryTimeouts === false)) throw err;
      const delayMs = Math.round(Math.min(max, first * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2));
      if (Date.now() + delayMs > deadline) throw err;
      options.onRetry?.(attempt, err, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
