// What extraction produces: per-page text with statistics, and document metadata.
import { z } from "zod";
import { ErrorCode } from "./common.ts";

/** The PDF engines docswarm reads documents with. */
export const ENGINES = ["pdfium", "pdfjs"] as const;
export const EngineName = z.enum(ENGINES).meta({ id: "EngineName" });
export type EngineName = z.infer<typeof EngineName>;
/** PDFium: ~4x pdf.js's pages/s on the bench corpora at the same fidelity (bench/README.md). */
export const DEFAULT_ENGINE: EngineName = "pdfium";

/** How a document is to be read: from its submission's headers, carried to every task that opens it. */
export const DocReading = z
  .object({
    engine: EngineName.optional(),
    /**
     * Only in the submission and in the extract tasks' input (work-queue messages, gone once
     * acknowledged); never in the job, a result, an event, a log line or a dead letter's copy.
     */
    password: z.string().max(1024).optional(),
  })
  .meta({ id: "DocReading" });
export type DocReading = z.infer<typeof DocReading>;

/** What the job record keeps of DocReading: the engine, never the password (observers read jobs). */
export const JobReading = DocReading.pick({ engine: true }).meta({ id: "JobReading" });
export type JobReading = z.infer<typeof JobReading>;

export const PageError = z
  .object({ code: ErrorCode, message: z.string() })
  .meta({ id: "PageError", description: "Why a page could not be read (its text is then empty)" });
export type PageError = z.infer<typeof PageError>;

export const PageText = z
  .object({
    page: z.number().int().positive(),
    text: z.string(),
    chars: z.number().int().nonnegative(),
    words: z.number().int().nonnegative(),
    /** The engine that produced this page's text (the fallback engine when the first one could not). */
    engine: EngineName.optional(),
    /** Set when this page could not be read; the rest of the document still is. */
    error: PageError.optional(),
  })
  .meta({ id: "PageText" });
export type PageText = z.infer<typeof PageText>;

// Stable codes for what was repaired or worked around while reading a document that was still
// processed; clients match on these, never on messages.
export const WARNING_CODES = [
  /** No %%EOF marker at the end: the file was read as far as it goes. */
  "PDF_NO_EOF",
  /** Bytes before the %PDF- header line. */
  "PDF_LEADING_JUNK",
  /** No %PDF- header line at all (an engine read the file anyway). */
  "PDF_NO_HEADER",
  /** One or more pages could not be read; their entries carry `error`. */
  "PDF_PAGE_FAILED",
  /** Some pages (or the whole document) came from the fallback engine. */
  "PDF_ENGINE_FALLBACK",
] as const;
export const WarningCode = z.enum(WARNING_CODES).meta({ id: "WarningCode" });
export type WarningCode = z.infer<typeof WarningCode>;

export const DocWarning = z
  .object({
    code: WarningCode,
    message: z.string(),
    /** The pages it concerns, when it concerns pages (in order). */
    pages: z.array(z.number().int().positive()).optional(),
  })
  .meta({ id: "DocWarning" });
export type DocWarning = z.infer<typeof DocWarning>;

export const DocMeta = z
  .object({
    title: z.string().nullable(),
    author: z.string().nullable(),
    subject: z.string().nullable(),
    keywords: z.string().nullable(),
    creator: z.string().nullable(),
    producer: z.string().nullable(),
    creationDate: z.string().nullable(),
    modDate: z.string().nullable(),
    pdfVersion: z.string().nullable(),
    pageCount: z.number().int().nonnegative(),
  })
  .meta({ id: "DocMeta" });
export type DocMeta = z.infer<typeof DocMeta>;

export const PageRange = z
  .object({
    index: z.number().int().nonnegative(),
    firstPage: z.number().int().positive(),
    lastPage: z.number().int().positive(),
  })
  .refine((r) => r.lastPage >= r.firstPage, "lastPage must not precede firstPage")
  .meta({ id: "PageRange" });
export type PageRange = z.infer<typeof PageRange>;

export const ObjectRef = z
  .object({ bucket: z.string().min(1), name: z.string().min(1), size: z.number().int().nonnegative() })
  .meta({ id: "ObjectRef" });
export type ObjectRef = z.infer<typeof ObjectRef>;
