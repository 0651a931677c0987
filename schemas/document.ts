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
