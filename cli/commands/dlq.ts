// `docswarm dlq`: the dead letters (tasks that ran out of deliveries or that no stage serves).
//   docswarm dlq [list] [--stage S] [--limit N] [--json]
//   docswarm dlq requeue <seq> [--json]
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { z } from "zod";
import { DocswarmClient, listDeadLetters, requeueDeadLetter } from "../../client/index.ts";
import { StageName, validate } from "../../schemas/index.ts";
import { authOf } from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { UsageError } from "../errors.ts";
import { exitOnSignal, onShutdown, runCleanups } from "../signals.ts";

function when(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

export async function dlqCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stage: { type: "string" },
      limit: { type: "string", default: "100" },
      json: { type: "boolean", default: false },
      ...CONNECTION_OPTIONS,
    },
  });
  const [action = "list", ...rest] = positionals;
  if (action !== "list" && action !== "requeue")
    throw new UsageError(`docswarm dlq: unknown action '${action}'`);
  if (values.stage !== undefined && !validate(StageName, values.stage).ok)
    throw new UsageError(`--stage: not a stage name: ${values.stage}`);
  const limit = validate(z.coerce.number().int().positive().max(100_000), values.limit);
  if (!limit.ok) throw new UsageError(`--limit: ${limit.message}`);
  let seq = 0;
  if (action === "requeue") {
    const parsed = validate(z.coerce.number().int().positive(), rest[0]);
    if (!parsed.ok) throw new UsageError("docswarm dlq requeue <seq>: give the sequence `dlq list` shows");
    seq = parsed.value;
  }
  exitOnSignal();
  const { config } = commandConnection(values, "admin");
  const client = await DocswarmClient.connect(config.servers, authOf(config));
  onShutdown(() => client.close());
  const js = jetstream(client.nc);
  if (action === "requeue") {
    const r = await requeueDeadLetter(js, seq);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(r)}\n`
        : `requeued #${r.seq}: ${r.action.replace(/-/g, " ")}${r.docId ? ` (${r.docId})` : ""} on ${r.subject}\n`,
    );
  } else {
    const list = await listDeadLetters(js, {
      ...(values.stage && { stage: values.stage }),
      limit: limit.value,
    });
    if (values.json) {
      for (const d of list) process.stdout.write(`${JSON.stringify(d)}\n`);
    } else if (list.length === 0) {
      process.stdout.write("no dead letters\n");
    } else {
      for (const d of list) {
        process.stdout.write(
          `#${d.seq}  ${when(d.deadAt)}  ${d.stage}  ${d.docId ?? "-"}  ${d.code}  ${d.deliveries} deliveries  ${d.reason}\n`,
        );
      }
    }
  }
  await runCleanups();
  return 0;
}
