// A stage that does nothing, for load and soak runs of the coordination machinery alone.
import { z } from "zod";
import { defineStage } from "../../agents/stage.ts";

export default defineStage({
  name: "noop",
  input: z.unknown(),
  output: z.object({ ok: z.literal(true) }),
  async process() {
    return { ok: true };
  },
});
