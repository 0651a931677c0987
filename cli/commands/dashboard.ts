// docswarm dashboard [--port N] [--host H] [--token T]: the live web dashboard against NATS_URL.
import { parseArgs } from "node:util";
import { z } from "zod";
import { Dashboard, isLoopback } from "../../dashboard/index.ts";
import { validate } from "../../schemas/index.ts";
import { drainConnection, natsUrlFromEnv } from "../../streams/index.ts";
import { firstConnection } from "../first-connection.ts";
import { createLogger } from "../log.ts";
import { roleTopology } from "../role-topology.ts";
import { onShutdown, untilSignal } from "../signals.ts";
import { UsageError } from "../usage.ts";

export const DashboardArgs = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  token: z.string().min(16, "a token needs at least 16 characters").optional(),
});

export async function dashboardCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "7070" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string", default: process.env.DOCSWARM_DASHBOARD_TOKEN },
    },
  });
  const args = validate(DashboardArgs, values);
  if (!args.ok) throw new UsageError(args.message);
  const url = natsUrlFromEnv();
  if (!url)
    throw new UsageError("docswarm dashboard needs NATS_URL (or run 'docswarm up', which serves it too)");
  const log = createLogger("info", { role: "dashboard" });
  const nc = await firstConnection(url, "docswarm-dashboard", log);
  if (!nc) return 130;
  onShutdown(() => drainConnection(nc));
  // A dashboard only reads: it waits for the topology (saying so) instead of creating it.
  if (!(await roleTopology(nc, {}, false, log))) return 130;
  const dashboard = await Dashboard.start({
    nc,
    port: args.value.port,
    host: args.value.host,
    ...(args.value.token && { token: args.value.token }),
    onLog: log,
  });
  onShutdown(() => dashboard.close());
  printDashboard(dashboard);
  await untilSignal();
  return 0;
}

export function printDashboard(d: Dashboard): void {
  process.stdout.write(`docswarm dashboard: ${d.url}\n`);
  if (d.token && !isLoopback(d.host))
    process.stdout.write(`  bound to ${d.host}: open the URL above, or give the token when the page asks\n`);
}
