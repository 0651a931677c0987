// bench-noop: a user stage that does nothing, so a task measures only the path around it
// (publish, pull, envelope and schema checks, result publish, ack).
import { z } from "zod";
import { defineStage } from "../../agents/index.ts";

export default defineStage({
  name: "bench-noop",
  input: z.object({ n: z.number().int() }),
  output: z.object({ n: z.number().int() }),
  async process(input) {
    return { n: input.n };
  },
});
