// Decoding at a boundary: bytes or values in, a typed value or a SCHEMA_INVALID description out.
import { z } from "zod";

export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

const textDecoder = new TextDecoder();

export function validate<S extends z.ZodType>(schema: S, value: unknown): Decoded<z.infer<S>> {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: z.prettifyError(r.error) };
}

export function decodeJson<S extends z.ZodType>(schema: S, data: Uint8Array | string): Decoded<z.infer<S>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof data === "string" ? data : textDecoder.decode(data));
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` };
  }
  return validate(schema, parsed);
}
