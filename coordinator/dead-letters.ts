// Dead letters. JetStream only *points at* a message that ran out of deliveries (the max-deliveries
// advisory, kept for us in DOCSWARM_ADVISORIES); the leading coordinator copies the message to
// docswarm.dlq.<stage> with where-and-why headers, publishes the task's failed result (so the
// document gets its failed final result through the ordinary results path), and removes the message
// from its work queue. Every step is idempotent (message ids, delete-if-present), so an advisory
// redelivered after a crash or failover repeats harmlessly.
import type { Consumer, JetStreamClient, JetStreamManager, JsMsg, StoredMsg } from "@nats-io/jetstream";
import { headers as makeHeaders, type NatsConnection } from "@nats-io/transport-node";
import type { LogFn } from "../observability/index.ts";
import {
  DLQ_HEADERS,
  DocId,
  decodeJson,
  type ErrorCode,
  type ErrorInfo,
  HEADERS,
  MaxDeliveriesAdvisory,
  type SplitFailure,
  StageName,
  Task,
  type TaskResult,
} from "../schemas/index.ts";
import {
  closeSteps,
  DEAD_LETTER_CONSUMER,
  defaultDocId,
  isNoMessage,
  jsonBytes,
  taskId as makeTaskId,
  STREAMS,
  subjects,
} from "../streams/index.ts";
import { publishEvent } from "./events.ts";

export type DeadLetterRequest = {
  stream: string;
  seq: number;
  consumer: string;
  deliveries: number;
  code: ErrorCode;
  message: string;
};

type Identity = { docId: string; runId: string; stage: string; index: number; taskId: string };

// Headers of the original message that must not travel with the copy.
const DROPPED = /^(nats-msg-id|nats-expected-|nats-ttl|nats-rollup)/i;

/**
 * The message as the DLQ may keep it: without the document's password, which lives only in work-queue
 * messages (the submission's Docswarm-Password header, an extract task's `input.reading.password`).
 * The DLQ keeps its copies for days and observers list them, so they get neither.
 */
export function withoutPassword(sm: Pick<StoredMsg, "data" | "header">): {
  data: Uint8Array;
  headers: Array<[string, string]>;
  redacted: boolean;
} {
  const secret = HEADERS.password.toLowerCase();
  const headers: Array<[string, string]> = [];
  let redacted = false;
  for (const [k, vs] of sm.header ?? []) {
    if (k.toLowerCase() === secret) redacted = true;
    else if (!DROPPED.test(k)) for (const v of vs) headers.push([k, v]);
  }
  let data = sm.data;
  const raw = safeJson(sm.data) as { input?: { reading?: { password?: unknown } } } | undefined;
  const reading = raw?.input?.reading;
  if (reading && typeof reading === "object" && "password" in reading) {
    delete reading.password;
    data = jsonBytes(raw);
    redacted = true;
  }
  return { data, headers, redacted };
}

function safeJson(data: Uint8Array): unknown {
  if (data[0] !== 0x7b) return undefined; // not a JSON object (a submission's PDF bytes)
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}

/** The stage a message belongs to: split for submissions, else the subject's stage token. */
export function stageOfMessage(stream: string, subject: string): string {
  if (stream === STREAMS.submit) return "split";
  const token = subject.split(".")[2] ?? "";
  return StageName.safeParse(token).success ? token : "unknown";
}

function identify(stream: string, sm: StoredMsg): Identity | undefined {
  if (stream === STREAMS.submit) {
    const header = sm.header?.get(HEADERS.docId) ?? "";
    const docId = DocId.safeParse(header).success ? header : defaultDocId(sm.data);
    const runId = sm.seq.toString(36);
    return { docId, runId, stage: "split", index: 0, taskId: makeTaskId(docId, runId, "split", 0) };
  }
  const t = decodeJson(Task, sm.data);
  if (!t.ok) return undefined;
  return {
    docId: t.value.docId,
    runId: t.value.runId,
    stage: t.value.stage,
    index: t.value.index,
    taskId: t.value.taskId,
  };
}

// One line, bounded: a header value (and the event's copy of the reason, so both read the same).
const headerValue = (v: string | number) =>
  String(v)
    .replace(/[\r\n]+/g, " ")
    .slice(0, 512);

export class DeadLetterer {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #fence: () => void;
  readonly #log: LogFn;
  readonly #claim: (docId: string) => Promise<void>;
  count = 0;

  /**
   * `claim` writes the document's job with this leader's term (compare-and-set, jobs/store.ts)
   * before anything is dead-lettered, so a deposed leader's dead letter stops at the server's refusal.
   */
  constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    fence: () => void,
    log: LogFn,
    claim: (docId: string) => Promise<void> = async () => {},
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#fence = fence;
    this.#log = log;
    this.#claim = claim;
  }

  /** Moves one message to the DLQ and fails its document; "gone" when the message no longer exists. */
  async deadLetter(req: DeadLetterRequest): Promise<"dead-lettered" | "gone"> {
    this.#fence();
    let sm: StoredMsg | null;
    try {
      sm = await this.#jsm.streams.getMessage(req.stream, { seq: req.seq });
    } catch (err) {
      if (isNoMessage(err)) return "gone";
      throw err;
    }
    if (!sm) return "gone";
    const stage = stageOfMessage(req.stream, sm.subject);
    const who = identify(req.stream, sm);
    const now = Date.now();
    const copy = withoutPassword(sm);
    const h = makeHeaders();
    for (const [k, v] of copy.headers) h.append(k, v);
    const set = (k: string, v: string | number) => h.set(k, headerValue(v));
    set(DLQ_HEADERS.stream, req.stream);
    set(DLQ_HEADERS.seq, req.seq);
    set(DLQ_HEADERS.subject, sm.subject);
    set(DLQ_HEADERS.consumer, req.consumer);
    set(DLQ_HEADERS.deliveries, req.deliveries);
    set(DLQ_HEADERS.code, req.code);
    set(DLQ_HEADERS.reason, req.message);
    set(DLQ_HEADERS.at, now);
    if (who) {
      set(DLQ_HEADERS.docId, who.docId);
      set(DLQ_HEADERS.taskId, who.taskId);
    }
    if (copy.redacted) set(DLQ_HEADERS.redacted, "password");
    if (who) await this.#claim(who.docId);
    this.#fence();
    const pa = await this.#js.publish(subjects.dlq(stage), copy.data, {
      headers: h,
      msgID: `dlq.${req.stream}.${req.seq}`,
    });
    const error: ErrorInfo = {
      code: req.code,
      message: `${who?.stage ?? stage} task ${who?.taskId ?? `${req.stream}#${req.seq}`}: ${req.message}; a copy is on ${subjects.dlq(stage)} (seq ${pa.seq})`,
      retryable: false,
    };
    if (who) await this.#publishFailure(who, req, sm, error);
    this.#fence();
    await this.#jsm.streams.deleteMessage(req.stream, req.seq, false).catch((err) => {
      if (!isNoMessage(err)) throw err;
    });
    this.count++;
    this.#log("warn", "dead-lettered", {
      stage,
      docId: who?.docId,
      taskId: who?.taskId,
      code: req.code,
      deliveries: req.deliveries,
      dlqSeq: pa.seq,
    });
    if (who) {
      publishEvent(this.#nc, {
        type: "task.deadlettered",
        at: now,
        docId: who.docId,
        stage,
        taskId: who.taskId,
        deliveries: req.deliveries,
        dlqSeq: pa.seq,
        error,
        reason: headerValue(req.message),
      });
    }
    return "dead-lettered";
  }

  /**
   * The task's failed result. Its message id is the task id plus ".dlq", so a requeued task of a
   * stage without a job (see client/dead-letters.ts) can still publish its own result later.
   */
  async #publishFailure(who: Identity, req: DeadLetterRequest, sm: StoredMsg, error: ErrorInfo) {
    const now = Date.now();
    const source = req.stream === STREAMS.submit ? sm.header?.get(HEADERS.source) || null : null;
    const result: TaskResult = {
      v: 1,
      taskId: who.taskId,
      docId: who.docId,
      runId: who.runId,
      stage: who.stage,
      index: who.index,
      status: "failed",
      agentId: "coordinator",
      delivery: Math.max(1, req.deliveries),
      startedAt: now,
      finishedAt: now,
      error,
      ...(req.stream === STREAMS.submit && {
        output: {
          source,
          submittedAt: sm.time.getTime(),
          ...(sm.header?.get(HEADERS.reprocess) === "true" && { reprocess: true }),
        } satisfies SplitFailure,
      }),
    };
    this.#fence();
    await this.#js.publish(subjects.result(who.docId, `${who.stage}.${who.index}`), jsonBytes(result), {
      msgID: `${who.taskId}.dlq`,
    });
  }
}

/** The leader's loop over max-deliveries advisories (durable, so none is lost across a failover). */
export class AdvisoryListener {
  readonly #messages: Awaited<ReturnType<Consumer["consume"]>>;
  readonly #loop: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(messages: Awaited<ReturnType<Consumer["consume"]>>, dl: DeadLetterer, log: LogFn) {
    this.#messages = messages;
    this.#loop = (async () => {
      for await (const m of messages) await AdvisoryListener.#handle(m, dl, log);
    })().catch((err) => log("error", "advisory listener stopped", { err: (err as Error).message }));
  }

  static async start(js: JetStreamClient, dl: DeadLetterer, log: LogFn): Promise<AdvisoryListener> {
    const consumer = await js.consumers.get(STREAMS.advisories, DEAD_LETTER_CONSUMER);
    return new AdvisoryListener(await consumer.consume({ max_messages: 16, expires: 5000 }), dl, log);
  }

  static async #handle(m: JsMsg, dl: DeadLetterer, log: LogFn): Promise<void> {
    const a = decodeJson(MaxDeliveriesAdvisory, m.data);
    if (!a.ok) {
      log("warn", "unreadable advisory dropped", { subject: m.subject, error: a.message });
      m.ack();
      return;
    }
    const { stream, consumer, stream_seq: seq, deliveries } = a.value;
    try {
      await dl.deadLetter({
        stream,
        seq,
        consumer,
        deliveries,
        code: "MAX_DELIVERIES",
        message: `delivered ${deliveries} times without finishing (its agent crashed, hung or timed out each time)`,
      });
      m.ack();
    } catch (err) {
      log("warn", "could not dead-letter yet; the advisory will come back", { err: (err as Error).message });
      m.nak(1000);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await closeSteps(
        () => this.#messages.close(),
        () => this.#loop,
      );
    })();
    return this.#closing;
  }
}
