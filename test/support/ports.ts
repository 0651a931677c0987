// Loopback ports nothing listens on, for servers a test starts later at a known address.
import { createServer } from "node:net";

/** `n` distinct ports, taken from the OS together and released (so they are distinct). */
export async function unusedPorts(n: number): Promise<number[]> {
  const probes = Array.from({ length: n }, () => createServer());
  await Promise.all(probes.map((p) => new Promise<void>((resolve) => p.listen(0, "127.0.0.1", resolve))));
  const ports = probes.map((p) => (p.address() as { port: number }).port);
  await Promise.all(probes.map((p) => new Promise<void>((resolve) => p.close(() => resolve()))));
  return ports;
}
