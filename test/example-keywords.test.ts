// The example stage in examples/keywords, as the README runs it: through the CLI with --stage and
// --pipeline, on a fresh swarm.
import { readFile } from "node:fs/promises";
import test from "ava";
import { topKeywords } from "../examples/keywords/keywords-stage.ts";
import { FinalResult } from "../schemas/index.ts";
import { runCli, tempDir } from "./support/cli.ts";

test("topKeywords counts words, skips stopwords, breaks ties alphabetically", (t) => {
  t.deepEqual(topKeywords("The swarm and the agents. Swarm agents swarm!", 2), [
    { word: "swarm", count: 3 },
    { word: "agents", count: 2 },
  ]);
});

test("docswarm process --stage examples/keywords/keywords-stage.ts --pipeline split,extract,keywords,merge", async (t) => {
  const tmp = await tempDir(t, "keywords");
  const run = await runCli(
    t,
    [
      "process",
      "samples/letters",
      "--json",
      "--out",
      tmp,
      "--agents",
      "1",
      "--stage",
      "examples/keywords/keywords-stage.ts",
      "--pipeline",
      "split,extract,keywords,merge",
    ],
    tmp,
  );
  t.is(run.code, 0, run.stderr);
  const line = JSON.parse(run.stdout.trim().split("\n")[0]!) as { out: string; docId: string };
  const r = FinalResult.parse(JSON.parse(await readFile(line.out, "utf8")));
  const kw = r.stages?.keywords as Array<{ firstPage: number; keywords: Array<{ word: string }> }>;
  t.is(kw.length, r.chunks);
  t.true(kw.flatMap((k) => k.keywords.map((w) => w.word)).includes("docswarm"));
});
