// The TypeScript client of the wire contract: submit documents (through the object store when they
// exceed the server's max payload), and read final results, one or as a stream.

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { DeliverPolicy, type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import {
  checkGraph,
  decodeFinal,
  decodeJobResult,
  doneKind,
  readFinal,
  readJobResult,
} from "../jobs/index.ts";
import { annotateSpan, SpanKind, withSpan, withTraceHeaders } from "../observability/index.ts";
import {
  type EngineName,
  type FinalResult,
  HEADERS,
  type JobResult,
  JobSpec,
  type JobSpecInput,
  type NatsAuth,
  type Priority,
  SubmitHeaders,
  validate,
} from "../schemas/index.ts";
import {
  connectNats,
  defaultDocId,
  drainConnection,
  isStreamFull,
  isTransient,
  jsonBytes,
  PAYLOAD_HEADROOM_BYTES,
  publisherFor,
  retryJetStream,
  STREAMS,
  subjects,
  uploadDocument,
} from "../streams/index.ts";
import { ClientError } from "./errors.ts";

export type SubmitOptions = {
  docId?: string;
  priority?: Priority;
  /** Your name for the document (a path); echoed in its final result. */
  source?: string;
  /** Process again even if the document already has a final result. */
  reprocess?: boolean;
  /** A named pipeline, or an inline one ("split,extract,keywords,merge"). */
  pipeline?: string;
  /** The PDF engine to read it with (the agents' default otherwise; the other engine stays the fallback). */
  engine?: EngineName;
  /**
   * The password of an encrypted document (Docswarm-Password). It is stored with the submission,
   * and with the document's job and tasks, until the document is processed.
   */
  password?: string;
  /** How long to keep retrying while the swarm is full (submit stream at its limits). */
  fullRetryMs?: number;
  /** Called while retrying because the swarm is full. */
  onFull?: (attempt: number, delayMs: number) => void;
};

export type Submitted = { docId: string; priority: Priority; bytes: number; viaObjectStore: boolean };

export class DocswarmClient {
  readonly nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #owns: boolean;
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();

  constructor(nc: NatsConnection, owns = false) {
    this.nc = nc;
    this.#js = jetstream(nc);
    this.#owns = owns;
  }

  /** Connects to `servers` (with credentials and TLS from `auth`: the submitter role's). */
  static async connect(servers: string | string[], auth: NatsAuth = {}): Promise<DocswarmClient> {
    return new DocswarmClient(await connectNats({ ...auth, servers, name: "docswarm-client" }), true);
  }

  /**
   * Submits a PDF (bytes, or a file path). Resolves once the swarm has stored the submission. The
   * submission carries the trace context of a `docswarm.submit` span (when tracing is on), so the
   * document's whole trace starts here, under the caller's active span if there is one.
   */
  submit(input: Uint8Array | string, options: SubmitOptions = {}): Promise<Submitted> {
    return withSpan("docswarm.submit", { kind: SpanKind.PRODUCER }, () => this.#submit(input, options));
  }

  async #submit(input: Uint8Array | string, options: SubmitOptions): Promise<Submitted> {
    const bytes = typeof input === "string" ? await readDocument(input) : input;
    const checked = validate(SubmitHeaders, {
      docId: options.docId,
      priority: options.priority,
      source: options.source ?? (typeof input === "string" ? input : undefined),
      pipeline: options.pipeline,
      engine: options.engine,
      password: options.password,
    });
    if (!checked.ok) throw new ClientError("HEADER_INVALID", checked.message);
    const docId = checked.value.docId ?? defaultDocId(bytes);
    const priority = checked.value.priority ?? "normal";
    const h = headers();
    h.set(HEADERS.docId, docId);
    h.set(HEADERS.priority, priority);
    if (checked.value.source) h.set(HEADERS.source, checked.value.source);
    if (options.reprocess) h.set(HEADERS.reprocess, "true");
    if (checked.value.pipeline) h.set(HEADERS.pipeline, checked.value.pipeline);
    if (checked.value.engine) h.set(HEADERS.engine, checked.value.engine);
    if (checked.value.password !== undefined) h.set(HEADERS.password, checked.value.password);
    annotateSpan({ "docswarm.doc.id": docId, "docswarm.priority": priority });
    withTraceHeaders(h);

    const maxPayload = this.nc.info?.max_payload ?? 1024 * 1024;
    const viaObjectStore = bytes.length > maxPayload - PAYLOAD_HEADROOM_BYTES;
    let body = bytes;
    if (viaObjectStore) {
      // Chunks under a fresh upload id: what a submitter may write (streams/uploads.ts).
      const upload = await uploadDocument(this.#js, bytes, maxPayload);
      h.set(HEADERS.upload, upload.id);
      h.set(HEADERS.uploadSize, String(upload.size));
      h.set(HEADERS.uploadDigest, upload.digest);
      body = new Uint8Array();
    }
    // Same document within the dedup window: the stream keeps one submission.
    const msgID = options.reprocess ? `submit.${docId}.${randomUUID()}` : `submit.${docId}`;
    const deadline = Date.now() + (options.fullRetryMs ?? 60_000);
    for (let attempt = 1; ; attempt++) {
      try {
        // The message id makes a repeat after a timeout harmless (the stream keeps one). Through
        // the connection's raw exchange (streams/publisher.ts), as the agents publish: js.publish
        // builds a RequestError on every reply, ~0.03 ms of the submitter's CPU per document.
        await retryJetStream(() =>
          publisherFor(this.nc).publish(subjects.submitAt(priority), body, { headers: h, msgID }),
        );
        return { docId, priority, bytes: bytes.length, viaObjectStore };
      } catch (err) {
        if (!isStreamFull(err)) throw err;
        const delayMs = Math.min(5000, 50 * 2 ** Math.min(attempt, 10));
        if (Date.now() + delayMs > deadline) {
          throw new ClientError("SWARM_FULL", `the swarm is full: submissions are at the stream's limits`, {
            cause: err,
          });
        }
        options.onFull?.(attempt, delayMs);
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /**
   * Submits a DAG job: tasks with dependencies, run by the agents serving their stages. The graph
   * is checked here too (cycles, unknown dependencies) so a mistake fails fast.
   */
  async submitJob(spec: JobSpecInput): Promise<{ jobId: string }> {
    const parsed = validate(JobSpec, spec);
    if (!parsed.ok) throw new ClientError("SCHEMA_INVALID", parsed.message);
    const graph = checkGraph(parsed.value.tasks);
    if (!graph.ok) throw new ClientError("DAG_INVALID", graph.message);
    await retryJetStream(() =>
      this.#js.publish(subjects.jobSubmit, jsonBytes(parsed.value), { msgID: `job.${parsed.value.jobId}` }),
    );
    return { jobId: parsed.value.jobId };
  }

  /** The result of a DAG job, waiting for it if necessary. */
  async jobResult(jobId: string, options: { timeoutMs?: number } = {}): Promise<JobResult> {
    const existing = await retryJetStream(() => readJobResult(this.#js, jobId));
    if (existing) return existing;
    const m = await this.#waitDone(jobId, options.timeoutMs);
    return decodeJobResult(this.#js, m);
  }

  async #waitDone(id: string, timeoutMs = 10 * 60_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    const open = () =>
      retryJetStream(
        () =>
          this.#js.consumers.get(STREAMS.done, {
            filter_subjects: [subjects.done(id)],
            deliver_policy: DeliverPolicy.LastPerSubject,
          }),
        { budgetMs: Math.max(1000, deadline - Date.now()) },
      );
    let consumer = await open();
    try {
      while (Date.now() < deadline) {
        try {
          const m = await consumer.next({ expires: Math.max(1000, Math.min(5000, deadline - Date.now())) });
          if (m) return m.data;
        } catch (err) {
          // The done stream is electing a leader: ask again on a fresh consumer.
          if (!isTransient(err)) throw err;
          await consumer.delete().catch(() => {});
          await new Promise((r) => setTimeout(r, 250));
          consumer = await open();
        }
      }
    } finally {
      // An ordered consumer lingers on the server for minutes unless deleted; one per call adds up.
      await consumer.delete().catch(() => {});
    }
    throw new ClientError("TIMEOUT", `no final result for ${id} within ${timeoutMs} ms`);
  }

  /** The final result of a document, waiting for it if necessary. */
  async result(docId: string, options: { timeoutMs?: number } = {}): Promise<FinalResult> {
    const existing = await retryJetStream(() => readFinal(this.#js, docId));
    if (existing) return existing;
    return decodeFinal(this.#js, await this.#waitDone(docId, options.timeoutMs));
  }

  /** Final results as they are published (from now on, or all stored ones first). */
  async *results(
    options: { from?: "now" | "start"; signal?: AbortSignal } = {},
  ): AsyncGenerator<FinalResult> {
    const consumer = await retryJetStream(() =>
      this.#js.consumers.get(STREAMS.done, {
        filter_subjects: [subjects.doneAll],
        deliver_policy: options.from === "start" ? DeliverPolicy.All : DeliverPolicy.New,
      }),
    );
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => void messages.close();
    options.signal?.addEventListener("abort", stop, { once: true });
    try {
      for await (const m of messages) {
        if (doneKind(m.data) === "document") yield await decodeFinal(this.#js, m.data);
      }
    } finally {
      options.signal?.removeEventListener("abort", stop);
      await messages.close();
    }
  }

  /** Drains the connection when the client opened it (DocswarmClient.connect); a borrowed one stays open. */
  close(): Promise<void> {
    this.#closing ??= (this.#owns ? drainConnection(this.nc) : Promise.resolve()).finally(() =>
      this.#closed.resolve(),
    );
    return this.#closing;
  }

  /** Resolves once close() has run, whatever its outcome. */
  closed(): Promise<void> {
    return this.#closed.promise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

async function readDocument(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ClientError("FILE_NOT_FOUND", `no such file: ${path}`, { cause: err });
    throw new ClientError("FILE_UNREADABLE", `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
