// A loopback NATS cluster for tests: `n` JetStream nodes named n0..n<n-1>, routed to each other,
// stopped on teardown. JetStream answers once the nodes have elected a meta leader.
import type { ExecutionContext } from "ava";
import { EmbeddedNatsServer } from "../../infra/index.ts";
import { unusedPorts } from "./ports.ts";

export async function startCluster(
  t: ExecutionContext,
  n = 3,
): Promise<{ nodes: EmbeddedNatsServer[]; urls: string[] }> {
  const ports = await unusedPorts(2 * n);
  const routes = ports.slice(n);
  const nodes = await Promise.all(
    ports.slice(0, n).map((port, i) =>
      EmbeddedNatsServer.start({
        port,
        serverName: `n${i}`,
        extraConfig: [
          "cluster {",
          "  name: docswarm-test",
          `  listen: "127.0.0.1:${routes[i]}"`,
          `  routes: [${routes.map((r) => `"nats-route://127.0.0.1:${r}"`).join(", ")}]`,
          "}",
        ].join("\n"),
      }),
    ),
  );
  t.teardown(() => Promise.all(nodes.map((node) => node.close())).then(() => {}));
  return { nodes, urls: nodes.map((node) => node.url) };
}
