// W3C trace context (traceparent, tracestate) in NATS message headers: inject when publishing,
// extract when consuming. A raw client that sends `traceparent` on submit sees its trace continued.
import type { MsgHdrs } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import {
  type Context,
  context,
  propagation,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";

const getter: TextMapGetter<MsgHdrs> = {
  keys: (h) => h.keys(),
  // Header names on the wire are case-sensitive; accept any casing of traceparent / tracestate.
  get: (h, key) =>
    h.has(key) ? h.get(key) : h.has(key, "insensitive") ? h.get(key, "insensitive") : undefined,
};

const setter: TextMapSetter<MsgHdrs> = {
  set: (h, key, value) => h.set(key, value),
};

/** The trace context carried by a message's headers (the active context when there is none). */
export function extractTraceContext(h: MsgHdrs | undefined): Context {
  return h ? propagation.extract(context.active(), h, getter) : context.active();
}

/**
 * Headers carrying the active span's trace context, added to `h` (or new ones), or `h` unchanged
 * when nothing is being traced, so an untraced swarm publishes exactly what it did before.
 */
export function withTraceHeaders(h?: MsgHdrs): MsgHdrs | undefined {
  const span = trace.getActiveSpan();
  if (!span || !trace.isSpanContextValid(span.spanContext())) return h;
  const out = h ?? natsHeaders();
  propagation.inject(context.active(), out, setter);
  return out;
}
