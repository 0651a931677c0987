// `submit` and `results`: the client side of the wire contract, against NATS_URL.
import { parseArgs } from "node:util";
import { z } from "zod";
import { DocswarmClient } from "../../client/index.ts";
import { DocId, Priority, validate } from "../../schemas/index.ts";
import { authOf } from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { ENGINE_OPTIONS, engineOption, passwordOption } from "../engine-options.ts";
import { UsageError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { roleTopology } from "../role-topology.ts";
import { exitOnSignal, onShutdown, runCleanups } from "../signals.ts";

/** A client with the submitter's credentials (flags, NATS_* variables or the nats CLI context). */
function connectClient(values: Record<string, unknown>): Promise<DocswarmClient> {
  const { config } = commandConnection(values, "submitter");
  return DocswarmClient.connect(config.servers, authOf(config));
}

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      priority: { type: "string", short: "p", default: "normal" },
      "doc-id": { type: "string" },
      reprocess: { type: "boolean", default: false },
      pipeline: { type: "string" },
      wait: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      ...CONNECTION_OPTIONS,
      ...ENGINE_OPTIONS,
    },
  });
  if (positionals.length === 0) throw new UsageError("give at least one file");
  const engine = engineOption(values.engine);
  const password = await passwordOption(values["password-file"]);
  const priority = validate(Priority, values.priority);
  if (!priority.ok) throw new UsageError(`--priority: ${priority.message}`);
  if (values["doc-id"] !== undefined) {
    const id = validate(DocId, values["doc-id"]);
    if (!id.ok) throw new UsageError(`--doc-id: ${id.message}`);
    if (positionals.length > 1) throw new UsageError("--doc-id names one document; give one file");
  }
  exitOnSignal();
  const client = await connectClient(values);
  onShutdown(() => client.close());
  // Submitting before anything runs: wait for the topology (saying so) rather than fail.
  if (!(await roleTopology(client.nc, {}, false, createLogger("warn", { role: "submit" })))) return 130;
  let failed = 0;
  for (const file of positionals) {
    const sub = await client.submit(file, {
      priority: priority.value,
      ...(values["doc-id"] && { docId: values["doc-id"] }),
      reprocess: values.reprocess,
      ...(values.pipeline && { pipeline: values.pipeline }),
      ...(engine && { engine }),
      ...(password !== undefined && { password }),
      onFull: (attempt, delayMs) =>
        process.stderr.write(`docswarm: the swarm is full; retry ${attempt} in ${delayMs} ms\n`),
    });
    if (!values.wait) {
      process.stdout.write(
        values.json ? `${JSON.stringify({ file, docId: sub.docId })}\n` : `${sub.docId}  ${file}\n`,
      );
      continue;
    }
    const r = await client.result(sub.docId);
    if (r.status === "failed") failed++;
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ file, docId: r.docId, status: r.status, pageCount: r.pageCount, ...(r.error && { error: r.error }) })}\n`
        : `${r.docId}  ${file}  ${r.status}  ${r.pageCount} pages${r.error ? `  ${r.error.code}: ${r.error.message}` : ""}\n`,
    );
  }
  await runCleanups();
  return failed > 0 ? 1 : 0;
}

export async function resultsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { timeout: { type: "string", default: "600" }, ...CONNECTION_OPTIONS },
  });
  const docId = validate(DocId, positionals[0]);
  if (!docId.ok) throw new UsageError(`doc id: ${docId.message}`);
  const timeout = validate(z.coerce.number().positive(), values.timeout);
  if (!timeout.ok) throw new UsageError(`--timeout (seconds): ${timeout.message}`);
  exitOnSignal();
  const client = await connectClient(values);
  onShutdown(() => client.close());
  if (!(await roleTopology(client.nc, {}, false, createLogger("warn", { role: "results" })))) return 130;
  const r = await client.result(docId.value, { timeoutMs: timeout.value * 1000 });
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  await runCleanups();
  return r.status === "failed" ? 1 : 0;
}
