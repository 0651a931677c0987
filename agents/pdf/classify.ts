// Cheap structural checks before the parser runs, so bad input gets a precise code:
// pdf.js is lenient and reconstructs damaged files, which hides truncation.
import { StageError } from "../errors.ts";

const HEADER = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"
const EOF_MARK = [0x25, 0x25, 0x45, 0x4f, 0x46]; // "%%EOF"

function indexOf(bytes: Uint8Array, pattern: number[], from: number, to: number): number {
  outer: for (let i = Math.max(0, from); i <= Math.min(bytes.length, to) - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/** Throws PDF_EMPTY, PDF_INVALID or PDF_TRUNCATED; returns when the bytes look like a whole PDF. */
export function checkPdfStructure(bytes: Uint8Array): void {
  if (bytes.length === 0) throw new StageError("PDF_EMPTY", "the document is empty (0 bytes)");
  // The spec allows junk before the header; readers accept it within the first KiB.
  if (indexOf(bytes, HEADER, 0, 1024) < 0) {
    throw new StageError("PDF_INVALID", "not a PDF: no %PDF- header in the first 1024 bytes");
  }
  if (indexOf(bytes, EOF_MARK, bytes.length - 2048, bytes.length) < 0) {
    throw new StageError(
      "PDF_TRUNCATED",
      `the PDF is truncated: no %%EOF marker at its end (${bytes.length} bytes)`,
    );
  }
}
