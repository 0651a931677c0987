// docswarm dashboard [--port N] [--host H] [--dashboard-token T] [connection flags]: the live web dashboard.
import { parseArgs } from "node:util";
import { z } from "zod";
import { Dashboard } from "../../dashboard/index.ts";
import { validate } from "../../schemas/index.ts";
import { drainConnection } from "../../streams/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { UsageError } from "../errors.ts";
import { firstConnection } from "../first-connection.ts";
import { createLogger } from "../log.ts";
import { roleTopology } from "../role-topology.ts";
import { onShutdown, untilSignal } from "../signals.ts";

export const DashboardArgs = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  token: z.string().min(16, "a token needs at least 16 characters").optional(),
  noAuth: z.boolean(),
  showText: z.boolean(),
});

export async function dashboardCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "7070" },
      host: { type: "string", default: "127.0.0.1" },
      ...CONNECTION_OPTIONS,
      // The dashboard's own HTTP token (--token is NATS's, as in every command).
      "dashboard-token": { type: "string", default: process.env.DOCSWARM_DASHBOARD_TOKEN },
      "no-auth": { type: "boolean", default: false },
      "show-text": { type: "boolean", default: false },
    },
  });
  const args = validate(DashboardArgs, {
    port: values.port,
    host: values.host,
    token: values["dashboard-token"],
    noAuth: values["no-auth"],
    showText: values["show-text"],
  });
  if (!args.ok) throw new UsageError(args.message);
  const { config } = commandConnection(values, "observer");
  const log = createLogger("info", { role: "dashboard" });
  const nc = await firstConnection(config, "docswarm-dashboard", log);
  if (!nc) return 130;
  onShutdown(() => drainConnection(nc));
  // A dashboard only reads: it waits for the topology (saying so) instead of creating it.
  if (!(await roleTopology(nc, {}, false, log))) return 130;
  const dashboard = await Dashboard.start({
    nc,
    port: args.value.port,
    host: args.value.host,
    ...(args.value.token && { token: args.value.token }),
    noAuth: args.value.noAuth,
    showText: args.value.showText,
    onLog: log,
  });
  onShutdown(() => dashboard.close());
  printDashboard(dashboard);
  await untilSignal();
  return 0;
}

/** Where the dashboard is; a generated token is said once, here, to whoever started it (never logged). */
export function printDashboard(d: Dashboard): void {
  process.stdout.write(`docswarm dashboard: ${d.url}\n`);
  if (d.token && d.tokenGenerated)
    process.stdout.write(
      `  token: ${d.token}  (the page asks for it; scrapers send Authorization: Bearer; set your own with DOCSWARM_DASHBOARD_TOKEN)\n`,
    );
  if (!d.token) process.stdout.write(`  no token (--no-auth): anyone on ${d.host} can read it\n`);
}
