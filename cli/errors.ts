// How the CLI names an error: its stable code first, when it has one.
export function clientErrorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? `${code}: ` : "";
}
