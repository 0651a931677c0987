// Identifiers, priorities and error shapes shared by every message.
import { z } from "zod";

// Doc ids end up as subject tokens, KV keys and object names, so only token-safe characters.
export const DocId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, "1-128 characters from A-Z a-z 0-9 _ -")
  .meta({ id: "DocId", description: "Document id; a subject token, KV key and object name" });
export type DocId = z.infer<typeof DocId>;

export const PRIORITIES = ["high", "normal", "low"] as const;
export const Priority = z.enum(PRIORITIES).meta({ id: "Priority" });
export type Priority = z.infer<typeof Priority>;

export const StageName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, "lower-case letters, digits and '-', starting with a letter, at most 32")
  .meta({ id: "StageName" });
export type StageName = z.infer<typeof StageName>;

export const TaskId = z.string().regex(/^[A-Za-z0-9_.-]{1,256}$/);

// Stable codes: clients match on these, never on messages.
export const ERROR_CODES = [
  "PDF_EMPTY",
  "PDF_INVALID",
  "PDF_TRUNCATED",
  "PDF_CORRUPT",
  /** Encrypted with a security handler the engines do not support. */
  "PDF_ENCRYPTED",
  /** Encrypted, opens only with a password, and none was given (Docswarm-Password). */
  "PDF_PASSWORD_REQUIRED",
  /** Encrypted, and the password given does not open it. */
  "PDF_PASSWORD_WRONG",
  /** One page could not be parsed (in a page entry's `error`; the document goes on). */
  "PDF_PAGE_CORRUPT",
  /** The document opened but none of its pages could be read. */
  "PDF_NO_READABLE_PAGE",
  /** Reading it would take more than the configured memory (decompression bomb, engine out of memory). */
  "PDF_RESOURCE_LIMIT",
  "PDF_TOO_MANY_PAGES",
  "PDF_TOO_LARGE",
  "TASK_TIMEOUT",
  "MAX_DELIVERIES",
  "SCHEMA_INVALID",
  "HEADER_INVALID",
  "UNKNOWN_STAGE",
  "OBJECT_MISSING",
  "RESULT_MISSING",
  /** The final result is larger than the per-result cap (topology.doneMaxResultBytes); not stored. */
  "RESULT_TOO_LARGE",
  "DEPENDENCY_FAILED",
  "DAG_INVALID",
  "PIPELINE_INVALID",
  "FILE_NOT_FOUND",
  "FILE_UNREADABLE",
  "SWARM_FULL",
  "INTERNAL",
] as const;
export const ErrorCode = z.enum(ERROR_CODES).meta({ id: "ErrorCode" });
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorInfo = z
  .object({
    code: ErrorCode,
    message: z.string(),
    /** True when trying again may succeed (a crash, a timeout), false for bad input. */
    retryable: z.boolean().default(false),
  })
  .meta({ id: "ErrorInfo" });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** Milliseconds since the Unix epoch. */
export const EpochMs = z.number().int().nonnegative();
