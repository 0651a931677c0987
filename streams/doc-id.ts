// The default document id of the wire contract: the first 32 hex characters of SHA-256 of the bytes.
import { createHash } from "node:crypto";

export function defaultDocId(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}
