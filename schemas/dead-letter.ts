// A dead letter: a task or submission copied to docswarm.dlq.<stage> after it ran out of deliveries
// (or could never be delivered), as `docswarm dlq list --json` shows it.
import { z } from "zod";
import { DocId, EpochMs, ErrorCode, StageName } from "./common.ts";

export const DeadLetter = z
  .object({
    /** Sequence in DOCSWARM_DLQ; `docswarm dlq requeue <seq>` takes it. */
    seq: z.number().int().positive(),
    stage: StageName,
    docId: DocId.nullable(),
    taskId: z.string().nullable(),
    /** Where the message was: stream, sequence and subject. */
    stream: z.string(),
    streamSeq: z.number().int().nonnegative(),
    subject: z.string(),
    deliveries: z.number().int().nonnegative(),
    code: ErrorCode,
    reason: z.string(),
    deadAt: EpochMs,
    bytes: z.number().int().nonnegative(),
  })
  .meta({ id: "DeadLetter" });
export type DeadLetter = z.infer<typeof DeadLetter>;
