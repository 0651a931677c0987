// Deciding by reading: a file that readers open is processed, and what was unusual about it goes into
// the result as warnings. The byte checks here never refuse a document; they only name what an
// engine that then fails to open it most likely ran into (a truncated file, not a PDF at all).
import type { DocReading, DocWarning, SubmitHeaders } from "../../schemas/index.ts";
import { StageError } from "../errors.ts";

const HEADER = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"
const EOF_MARK = [0x25, 0x25, 0x45, 0x4f, 0x46]; // "%%EOF"
/** Readers look for the header this far in (the spec allows junk before it; PDFium reads 1 KiB). */
const HEADER_WINDOW = 1024;
/** A trailer's %%EOF is near the end; anything after it (printer junk, NULs) is tolerated. */
const EOF_WINDOW = 2048;

function indexOf(bytes: Uint8Array, pattern: number[], from: number, to: number): number {
  outer: for (let i = Math.max(0, from); i <= Math.min(bytes.length, to) - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

export type Layout = { header: number; eof: boolean };

export function layoutOf(bytes: Uint8Array): Layout {
  return {
    header: indexOf(bytes, HEADER, 0, HEADER_WINDOW),
    eof: indexOf(bytes, EOF_MARK, bytes.length - EOF_WINDOW, bytes.length) >= 0,
  };
}

/**
 * Throws PDF_EMPTY for no bytes; otherwise the warnings this file's layout earns if an engine
 * opens it (no %%EOF, junk before the header, no header at all).
 */
export function readable(bytes: Uint8Array): DocWarning[] {
  if (bytes.length === 0) throw new StageError("PDF_EMPTY", "the document is empty (0 bytes)");
  const { header, eof } = layoutOf(bytes);
  const warnings: DocWarning[] = [];
  if (header < 0)
    warnings.push({ code: "PDF_NO_HEADER", message: `no %PDF- header in the first ${HEADER_WINDOW} bytes` });
  else if (header > 0)
    warnings.push({
      code: "PDF_LEADING_JUNK",
      message: `${header} bytes before the %PDF- header were skipped`,
    });
  if (!eof)
    warnings.push({
      code: "PDF_NO_EOF",
      message: `no %%EOF marker at the end (${bytes.length} bytes): the file may be truncated; read as far as it goes`,
    });
  return warnings;
}

/**
 * The error for a document no engine could open: not a PDF (no header), truncated (no %%EOF), or
 * corrupt, keeping the engine's own message.
 */
export function unreadable(bytes: Uint8Array, cause: StageError): StageError {
  if (cause.code !== "PDF_CORRUPT") return cause;
  const { header, eof } = layoutOf(bytes);
  if (header < 0)
    return new StageError(
      "PDF_INVALID",
      `not a PDF: no %PDF- header in the first ${HEADER_WINDOW} bytes, and no engine could read it`,
      { cause },
    );
  if (!eof)
    return new StageError(
      "PDF_TRUNCATED",
      `the PDF is truncated: no %%EOF marker at its end (${bytes.length} bytes), and no engine could read it`,
      { cause },
    );
  return cause;
}

export function passwordError(password: string | undefined): StageError {
  return password
    ? new StageError("PDF_PASSWORD_WRONG", "the password given for this encrypted PDF is wrong")
    : new StageError("PDF_PASSWORD_REQUIRED", "the PDF is encrypted and needs a password (none was given)");
}

/** How a submission asks for its document to be read; undefined when it asks for nothing special. */
export function readingOf(h: SubmitHeaders): DocReading | undefined {
  if (h.engine === undefined && h.password === undefined) return undefined;
  return { ...(h.engine && { engine: h.engine }), ...(h.password !== undefined && { password: h.password }) };
}

/** PDF_TOO_LARGE beyond the configured cap (checked before bytes are fetched or stored). */
export function checkDocumentSize(size: number, maxBytes: number): void {
  if (size > maxBytes)
    throw new StageError(
      "PDF_TOO_LARGE",
      `the document is ${size} bytes; the limit is ${maxBytes} (maxDocumentBytes)`,
    );
}
