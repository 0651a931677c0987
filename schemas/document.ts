// What extraction produces: per-page text with statistics, and document metadata.
import { z } from "zod";

export const PageText = z
  .object({
    page: z.number().int().positive(),
    text: z.string(),
    chars: z.number().int().nonnegative(),
    words: z.number().int().nonnegative(),
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
    /** The page it concerns, when it concerns one page. */
    page: z.number().int().positive().optional(),
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
