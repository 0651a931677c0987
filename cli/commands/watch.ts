// docswarm watch [--json] [--since DURATION] [--type PREFIX] [--count N]: tails swarm events
// (docswarm.events.>) readably, or as JSON lines. --since replays the stored recent past first.
import { parseArgs } from "node:util";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { z } from "zod";
import { formatEventLine } from "../../observability/index.ts";
import { decodeJson, SwarmEvent, validate } from "../../schemas/index.ts";
import { connectNats, displayServers, STREAMS, subjects } from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { UsageError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { roleTopology } from "../role-topology.ts";
import { onShutdown, untilSignal } from "../signals.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "5m", "1h", "250ms" to milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

export async function watchCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean", default: false },
      since: { type: "string" },
      type: { type: "string" },
      count: { type: "string" },
      ...CONNECTION_OPTIONS,
    },
  });
  const sinceMs = values.since === undefined ? undefined : parseDuration(values.since);
  if (values.since !== undefined && sinceMs === undefined)
    throw new UsageError(`--since: '${values.since}' is not a duration like 30s, 5m or 1h`);
  const count =
    values.count === undefined ? undefined : validate(z.coerce.number().int().positive(), values.count);
  if (count && !count.ok) throw new UsageError(`--count: ${count.message}`);
  // --type doc.failed or --type agent (a prefix of the event type).
  const filter = values.type
    ? `${subjects.eventsAll.slice(0, -1)}${values.type.replace(/\.$/, "")}.>`
    : subjects.eventsAll;
  const { config } = commandConnection(values, "observer");
  const url = displayServers(config.servers);
  const nc = await connectNats({ ...config, name: "docswarm-watch" });
  onShutdown(() => nc.close());
  // Watching before anything runs: wait for the topology, saying so on stderr.
  if (!(await roleTopology(nc, {}, false, createLogger("warn", { role: "watch" })))) return 130;
  const consumer = await jetstream(nc).consumers.get(STREAMS.events, {
    filter_subjects: [filter],
    ...(sinceMs === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : {
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: new Date(Date.now() - sinceMs).toISOString(),
        }),
  });
  const messages = await consumer.consume();
  onShutdown(async () => void (await messages.close()));
  let seen = 0;
  const limit = count?.ok ? count.value : Number.POSITIVE_INFINITY;
  const tail = (async () => {
    for await (const m of messages) {
      const e = decodeJson(SwarmEvent, m.data);
      if (!e.ok) continue;
      process.stdout.write(values.json ? `${JSON.stringify(e.value)}\n` : `${formatEventLine(e.value)}\n`);
      if (++seen >= limit) break;
    }
  })();
  if (!values.json && process.stderr.isTTY)
    process.stderr.write(`docswarm: watching ${filter} on ${url} (Ctrl-C stops)\n`);
  await Promise.race([tail, untilSignal()]);
  await messages.close();
  await nc.close();
  return 0;
}
