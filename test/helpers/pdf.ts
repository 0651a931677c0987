// PDFs with known text for tests (deterministic per name).
import { densePages, makePdf } from "../../scripts/pdf-gen.ts";

export function testPdf(name: string, pages: number): Promise<Uint8Array> {
  return makePdf({ title: name, pages: densePages(name, pages, 1, 600) });
}
