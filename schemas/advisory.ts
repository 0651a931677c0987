// JetStream advisories docswarm listens to (their shape is JetStream's, so extra fields pass through).
import { z } from "zod";

/** `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`: a message ran out of deliveries. */
export const MaxDeliveriesAdvisory = z
  .object({
    type: z.literal("io.nats.jetstream.advisory.v1.max_deliver"),
    id: z.string(),
    timestamp: z.string(),
    stream: z.string().min(1),
    consumer: z.string().min(1),
    stream_seq: z.number().int().positive(),
    deliveries: z.number().int().nonnegative(),
  })
  .loose()
  .meta({ id: "MaxDeliveriesAdvisory" });
export type MaxDeliveriesAdvisory = z.infer<typeof MaxDeliveriesAdvisory>;
