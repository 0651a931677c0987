// Messages between an agent thread and its host (structured clones inside one process, not NATS).
import type { LogLevel } from "../observability/thread.ts";
import type { AgentStatus } from "../schemas/index.ts";

export type AgentToHost =
  /** Started; `stages` are the names of the stages it serves (user modules name their own). */
  | { t: "ready"; stages: string[] }
  /** A task was pulled; until "end" the host keeps it alive with in-progress acks. */
  | { t: "hold"; key: string; reply: string; taskId: string; stage: string }
  /** The task started running; the watchdog ends the thread if it runs past limitMs. */
  | { t: "run"; key: string; limitMs: number }
  /** The task was settled; `skipped` when it did not run (another agent had it, or stopping). */
  | { t: "end"; key: string; ok: boolean; skipped?: boolean }
  | { t: "status"; status: AgentStatus }
  /**
   * Document bytes for the host's shared cache (agents/shared-bytes.ts); `inflateChecked`: the
   * decompression cap the sharing agent checked them under (agents/pdf/engine.ts, OpenOptions).
   */
  | { t: "bytes-put"; key: string; bytes: SharedArrayBuffer; inflateChecked?: number }
  | { t: "bytes-get"; id: number; key: string }
  | { t: "log"; level: LogLevel; msg: string; fields?: Record<string, unknown> };

/** drain: finish tasks in flight and exit; abandonPulls when the whole swarm is shutting down. */
export type HostToAgent =
  | { t: "drain"; abandonPulls: boolean }
  /** The answer to bytes-get: the shared buffer, or undefined when the host does not have it. */
  | { t: "bytes"; id: number; bytes: SharedArrayBuffer | undefined; inflateChecked?: number };
