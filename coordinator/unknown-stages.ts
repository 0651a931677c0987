// Tasks nobody will ever take: the task stream accepts docswarm.task.<any stage>.<priority>, but only
// stages some agent declared have consumers. The leader looks now and then for subjects no consumer
// serves and dead-letters their tasks once they have waited past a grace period (an agent for a new
// stage may simply not have started yet), so their documents end with UNKNOWN_STAGE instead of
// waiting forever.
import type { JetStreamManager, MsgRequest } from "@nats-io/jetstream";
import type { LogFn } from "../observability/index.ts";
import { STREAMS } from "../streams/index.ts";
import type { DeadLetterer } from "./dead-letters.ts";

/** NATS subject matching with `*` and `>` wildcards in the filter. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== "*" && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

const PER_SWEEP = 1000;

export class UnknownStageSweeper {
  readonly #jsm: JetStreamManager;
  readonly #dl: DeadLetterer;
  readonly #graceMs: number;
  readonly #log: LogFn;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    jsm: JetStreamManager,
    dl: DeadLetterer,
    opts: { graceMs: number; everyMs: number; log: LogFn },
  ) {
    this.#jsm = jsm;
    this.#dl = dl;
    this.#graceMs = opts.graceMs;
    this.#log = opts.log;
    this.#timer = setInterval(() => {
      this.#running ??= this.sweep()
        .then(() => {})
        .catch((err) => this.#log("warn", "unknown-stage sweep failed", { err: (err as Error).message }))
        .finally(() => {
          this.#running = undefined;
        });
    }, opts.everyMs);
  }

  /** One pass; returns how many tasks it dead-lettered. */
  async sweep(): Promise<number> {
    const info = await this.#jsm.streams.info(STREAMS.tasks, { subjects_filter: ">" });
    const counts = info.state.subjects ?? {};
    const waiting = Object.keys(counts).filter((s) => (counts[s] ?? 0) > 0);
    if (waiting.length === 0) return 0;
    const filters: string[] = [];
    for await (const ci of this.#jsm.consumers.list(STREAMS.tasks)) {
      if (ci.config.filter_subject) filters.push(ci.config.filter_subject);
      for (const f of ci.config.filter_subjects ?? []) filters.push(f);
    }
    let moved = 0;
    for (const subject of waiting) {
      if (filters.some((f) => subjectMatches(f, subject))) continue;
      let seq = 0;
      while (!this.#closed && moved < PER_SWEEP) {
        // The server's MSG.GET takes next_by_subj (the client's type only lists it for direct gets).
        const request = { next_by_subj: subject, seq: seq + 1 } as unknown as MsgRequest;
        const sm = await this.#jsm.streams.getMessage(STREAMS.tasks, request).catch(() => null);
        if (!sm || Date.now() - sm.time.getTime() < this.#graceMs) break;
        seq = sm.seq;
        const outcome = await this.#dl.deadLetter({
          stream: STREAMS.tasks,
          seq: sm.seq,
          consumer: "",
          deliveries: 0,
          code: "UNKNOWN_STAGE",
          message: `no agent serves '${subject}' (no consumer has waited for it for ${Math.round(this.#graceMs / 1000)} s)`,
        });
        if (outcome === "dead-lettered") moved++;
      }
    }
    return moved;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#timer);
      await this.#running;
    })();
    return this.#closing;
  }
}
