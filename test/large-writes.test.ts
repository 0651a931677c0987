// Writes of 64 KB or more leave a docswarm connection as their parts (streams/large-writes.ts):
// every message still arrives whole, with its headers, in order among small ones; and the nats.js
// internals it relies on are still there (an upgrade that moved them would silently undo it).
import { headers } from "@nats-io/transport-node";
import test from "ava";
import { connectNats, drainConnection } from "../streams/index.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("large and small messages arrive whole and in order", async (t) => {
  const server = await startServer(t);
  const a = await connectNats({ servers: server.url, name: "writer" });
  const b = await connectNats({ servers: server.url, name: "reader" });
  t.teardown(async () => {
    await drainConnection(a);
    await drainConnection(b);
  });
  t.is(
    typeof Object.getOwnPropertyDescriptor((a as unknown as { protocol: object }).protocol, "flushPending")
      ?.value,
    "function",
  );

  const sizes = [10, 70_000, 136_000, 3, 500_000, 1_000_000 - 4096];
  const got: number[] = [];
  let bad = 0;
  b.subscribe("lw.x", {
    callback: (_err, m) => {
      const n = m.data.length;
      const fill = Number(m.headers?.get("n")) & 255;
      if (
        Number(m.headers?.get("size")) !== n ||
        m.data[0] !== fill ||
        m.data[n >> 1] !== fill ||
        m.data[n - 1] !== fill
      )
        bad++;
      got.push(Number(m.headers?.get("n")));
    },
  });
  await b.flush();
  let n = 0;
  for (let round = 0; round < 40; round++) {
    for (const size of sizes) {
      const h = headers();
      h.set("n", String(n));
      h.set("size", String(size));
      a.publish("lw.x", new Uint8Array(size).fill(n & 255), { headers: h });
      n++;
    }
    await a.flush();
  }
  await waitFor(() => got.length === n, { message: `${n} messages`, timeoutMs: 20_000 });
  t.is(bad, 0);
  t.deepEqual(
    got,
    Array.from({ length: n }, (_, i) => i),
  );
});
