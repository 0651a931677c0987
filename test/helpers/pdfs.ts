// Documents with known text per page, built with the same generator as the samples and the bench.
import { randomUUID } from "node:crypto";
import { densePages, makePdf } from "../../scripts/pdf-gen.ts";

export type KnownDoc = {
  /** A doc id unique to this test run (also the id printed on every page). */
  id: string;
  bytes: Uint8Array;
  /** The lines drawn on each page; page n starts with "Page n of <id>". */
  pages: string[][];
  title: string;
  author: string;
};

/** A unique, token-safe doc id: `<prefix>-<random>`. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

export type KnownDocOptions = {
  /** Characters of filler text per page (small keeps tests fast). */
  charsPerPage?: number;
  seed?: number;
  id?: string;
};

export async function knownDoc(
  prefix: string,
  pageCount: number,
  opts: KnownDocOptions = {},
): Promise<KnownDoc> {
  const id = opts.id ?? uniqueId(prefix);
  const pages = densePages(id, pageCount, opts.seed ?? pageCount, opts.charsPerPage ?? 300);
  const title = `Title of ${id}`;
  const author = `Author of ${id}`;
  const bytes = await makePdf({ pages, title, author });
  return { id, bytes, pages, title, author };
}

/** The first line drawn on page n (1-based) of a known document. */
export function firstLine(doc: KnownDoc, page: number): string {
  return `Page ${page} of ${doc.id}`;
}
