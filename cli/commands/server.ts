// docswarm server install | path: the nats-server the embedded mode runs. `install` fetches the
// pinned release into the user's cache ahead of time (otherwise the first embedded run does);
// `path` says which binary would run and why.
import { parseArgs } from "node:util";
import { ensureNatsServer, findNatsServer, type NatsServerBinary } from "../../infra/index.ts";
import { UsageError } from "../errors.ts";

const WHY: Record<NatsServerBinary["source"], string> = {
  DOCSWARM_NATS_SERVER: "named by DOCSWARM_NATS_SERVER",
  PATH: "found on PATH",
  repository: "this repository's copy",
  cache: "fetched into docswarm's cache",
};

const describe = (b: NatsServerBinary) => `nats-server v${b.version} at ${b.path} (${WHY[b.source]})\n`;

export async function serverCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { force: { type: "boolean", default: false } },
  });
  const [action, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`docswarm server ${action}: unexpected '${extra.join(" ")}'`);
  if (action === "path") {
    process.stdout.write(describe(findNatsServer()));
    return 0;
  }
  if (action === "install") {
    const binary = await ensureNatsServer({ force: values.force });
    process.stdout.write(describe(binary));
    return 0;
  }
  throw new UsageError("docswarm server: use 'install [--force]' or 'path'");
}
