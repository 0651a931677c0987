// --engine and --password-file, shared by the commands that start agents or submit documents.
import { readFile } from "node:fs/promises";
import { ENGINES, type EngineName } from "../schemas/index.ts";
import { UsageError } from "./errors.ts";

export const ENGINE_OPTIONS = {
  engine: { type: "string" },
  "password-file": { type: "string" },
} as const;

/** The engine asked for, checked. */
export function engineOption(value: string | undefined): EngineName | undefined {
  if (value === undefined) return undefined;
  if (!(ENGINES as readonly string[]).includes(value))
    throw new UsageError(`--engine must be one of ${ENGINES.join(", ")} (got '${value}')`);
  return value as EngineName;
}

/**
 * The password in a file (its first line, without the line break): a file keeps it out of the shell
 * history and the process list. It is sent with every document the command submits.
 */
export async function passwordOption(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const text = await readFile(file, "utf8").catch((err: Error) => {
    throw new UsageError(`--password-file ${file}: ${err.message}`);
  });
  return text.split(/\r?\n/, 1)[0] ?? "";
}
