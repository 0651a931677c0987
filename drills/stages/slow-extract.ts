// The built-in extract stage, slowed by DOCSWARM_SLOW_MS_PER_PAGE per page (default 100): keeps tasks
// in flight long enough for chaos and process tests to kill things mid-task, like slow I/O would.

import { defineStage } from "../../agents/stage.ts";
import { extractStage } from "../../agents/stages/extract.ts";

const msPerPage = Number(process.env.DOCSWARM_SLOW_MS_PER_PAGE ?? 100);

export default defineStage({
  ...extractStage,
  name: "extract",
  async process(input, ctx) {
    const out = await extractStage.process(input, ctx);
    await new Promise((r) => setTimeout(r, msPerPage * out.pages.length));
    return out;
  },
});
