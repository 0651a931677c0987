// nats.js queues a message as its parts (protocol line, headers, body, CRLF) and, before each
// socket write, copies everything queued into one new buffer (DataBuffer.pack). For a small
// document's ~136 KB submission that copy was a quarter of the bench process's main thread
// (`profile-docs.ts --corpus small` under --cpu-prof: pack 27 %, the socket write itself 9 %): a
// new buffer of that size is a new mapping, so every page of it faults before the copy. The
// socket takes the parts as they are in one writev. Only when the queue holds ≥ 64 KB, so small
// messages keep nats.js's own path; the parts are not copied, so a caller must not change a
// buffer it published while that publish is in flight (docswarm's callers never do).
import type { NatsConnection } from "@nats-io/transport-node";

const LARGE_BYTES = 64 * 1024;

type Outbound = { buffers: Uint8Array[]; size(): number; reset(): void };
type Socket = { cork(): void; uncork(): void };
type Protocol = {
  infoReceived: boolean;
  connected: boolean;
  outbound: Outbound;
  transport: { send(frame: Uint8Array): void; socket?: Partial<Socket> };
  flushPending: () => void;
};

function protocolOf(nc: NatsConnection): Protocol | undefined {
  const p = (nc as unknown as { protocol?: Partial<Protocol> }).protocol;
  if (typeof p?.flushPending !== "function" || !Array.isArray(p.outbound?.buffers)) return undefined;
  return p as Protocol;
}

/** Large writes of this connection go out without nats.js's copy; a nats.js without these internals is left alone. */
export function writeLargeFramesInPlace(nc: NatsConnection): void {
  const p = protocolOf(nc);
  if (!p) return;
  const flush = p.flushPending;
  p.flushPending = function (this: Protocol) {
    const out = this.outbound;
    const socket = this.transport?.socket;
    if (
      !this.infoReceived ||
      !this.connected ||
      out.buffers.length < 2 ||
      out.size() < LARGE_BYTES ||
      typeof socket?.cork !== "function" ||
      typeof socket.uncork !== "function"
    )
      return flush.call(this);
    socket.cork();
    try {
      for (const b of out.buffers) this.transport.send(b);
    } finally {
      out.reset();
      socket.uncork();
    }
  };
}
