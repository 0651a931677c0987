// A submission on docswarm.submit[.<priority>] as the split stage's task: the document id (the
// Docswarm-Doc-Id header, else the bytes' digest), the run id (the submission's stream sequence, so
// a redelivery has the same one and republishes the same message ids), the priority (the subject's,
// else the header's), and the pipeline it asks for.
import {
  DEFAULT_PIPELINE_TEXT,
  DocId,
  decodeJson,
  HEADERS,
  Pipeline,
  PRIORITIES,
  Priority,
  parsePipeline,
  type SplitFailure,
} from "../schemas/index.ts";
import { defaultDocId, subjects, taskId, uploadDocId } from "../streams/index.ts";
import type { TaskDelivery } from "./delivery.ts";
import { StageError } from "./errors.ts";
import type { AgentServices } from "./services.ts";
import type { Received } from "./stage-runner.ts";

/** What split works from: the message as it came (headers are validated by the stage). */
export type Submission = {
  data: Uint8Array;
  headers: Record<string, string>;
  /** When the submit stream stored it (ms since the epoch). */
  submittedAt: number;
};

function readHeaders(d: TaskDelivery): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, name] of Object.entries(HEADERS)) {
    const v = d.headers?.get(name);
    if (v) out[field] = v;
  }
  return out;
}

function subjectPriority(subject: string): Priority | undefined {
  const last = subject.slice(subjects.submit.length + 1);
  return (PRIORITIES as readonly string[]).includes(last) ? (last as Priority) : undefined;
}

export function receiveSubmission(d: TaskDelivery): Received {
  const headers = readHeaders(d);
  // An upload's default id is its digest's: the same as defaultDocId of the bytes it promises.
  const docId = DocId.safeParse(headers.docId).success
    ? headers.docId!
    : ((headers.upload && uploadDocId(headers.uploadDigest)) ?? defaultDocId(d.data));
  const runId = d.info.streamSeq.toString(36);
  const header = Priority.safeParse(headers.priority);
  const submittedAt = d.info.storedAt || Date.now();
  const input: Submission = { data: d.data, headers, submittedAt };
  const failureOutput: SplitFailure = {
    source: headers.source?.slice(0, 1024) ?? null,
    submittedAt,
    ...(headers.reprocess === "true" && { reprocess: true }),
  };
  return {
    ok: true,
    task: {
      v: 1,
      taskId: taskId(docId, runId, "split", 0),
      docId,
      runId,
      stage: "split",
      priority: subjectPriority(d.subject) ?? (header.success ? header.data : "normal"),
      index: 0,
      key: "split.0",
      mode: "process",
      inputMode: "static",
      deps: [],
      createdAt: submittedAt,
    },
    input,
    failureOutput,
  };
}

/** The pipeline a submission asks for: inline ("split,extract,x,merge"), by name, or the default. */
export async function resolvePipeline(s: AgentServices, spec: string | undefined): Promise<Pipeline> {
  const text = spec ?? DEFAULT_PIPELINE_TEXT;
  if (text.includes(",")) {
    const p = parsePipeline(text);
    if (!p.ok) throw new StageError("PIPELINE_INVALID", `pipeline '${text}': ${p.message}`);
    return p.value;
  }
  const entry = await s.state.pipelines.get(text);
  if (entry?.operation !== "PUT" || entry.value.length === 0) {
    throw new StageError(
      "PIPELINE_INVALID",
      `no pipeline named '${text}' (docswarm pipeline set ${text} <stages>)`,
    );
  }
  const p = decodeJson(Pipeline, entry.value);
  if (!p.ok) throw new StageError("PIPELINE_INVALID", `pipeline '${text}': ${p.message}`);
  return p.value;
}
