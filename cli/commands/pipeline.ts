// docswarm pipeline set|get|list|delete: named pipelines in the docswarm-pipelines bucket, usable
// by name in the Docswarm-Pipeline header (`docswarm submit --pipeline <name>`).

import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { decodeJson, formatPipeline, Pipeline, parsePipeline } from "../../schemas/index.ts";
import { BUCKETS, checkTopology, connectNats, jsonBytes } from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { UsageError } from "../errors.ts";
import { createLogger } from "../log.ts";

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export async function pipelineCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: CONNECTION_OPTIONS,
  });
  const [action, name, spec] = positionals;
  if (!action || !["set", "get", "list", "delete"].includes(action)) {
    throw new UsageError("docswarm pipeline set <name> <stages> | get <name> | list | delete <name>");
  }
  if (action !== "list" && (!name || !NAME.test(name)))
    throw new UsageError("a pipeline name is 1-64 of A-Z a-z 0-9 _ -");
  const { config } = commandConnection(values, "admin");
  const nc = await connectNats({ ...config, name: "docswarm-cli" });
  try {
    // Creates the pipelines bucket if nothing else has yet; never changes what exists.
    await checkTopology(nc, {}, { create: true, log: createLogger("warn", { role: "pipeline" }) });
    const kv = await new Kvm(jetstream(nc)).open(BUCKETS.pipelines);
    if (action === "set") {
      const p = parsePipeline(spec ?? "");
      if (!p.ok) throw new UsageError(`pipeline '${spec ?? ""}': ${p.message}`);
      await kv.put(name!, jsonBytes(p.value));
      process.stdout.write(`${name}: ${formatPipeline(p.value)}\n`);
    } else if (action === "delete") {
      await kv.delete(name!);
    } else {
      const names = action === "get" ? [name!] : [];
      if (action === "list") for await (const k of await kv.keys()) names.push(k);
      for (const n of names.sort()) {
        const e = await kv.get(n);
        const p = e?.operation === "PUT" ? decodeJson(Pipeline, e.value) : undefined;
        if (p?.ok) process.stdout.write(`${n}: ${formatPipeline(p.value)}\n`);
        else if (action === "get") throw new UsageError(`no pipeline named '${n}'`);
      }
    }
  } finally {
    await nc.close();
  }
  return 0;
}
