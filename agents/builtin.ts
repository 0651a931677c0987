// The built-in stages by name, and loading user stages from modules.
import { pathToFileURL } from "node:url";
import { StageLoadError } from "./errors.ts";
import type { StageDefinition, TaskHandler } from "./stage.ts";
import { stageHandler } from "./stage-runner.ts";
import { extractStage } from "./stages/extract.ts";
import { mergeStage } from "./stages/merge.ts";
import { reportSplit, splitFailed, splitStage } from "./stages/split.ts";
import type { Submission } from "./submission.ts";
import { receiveSubmission } from "./submission.ts";

export const builtinHandlers: Record<string, TaskHandler> = {
  split: stageHandler(splitStage, {
    receive: receiveSubmission,
    report: reportSplit,
    failed: (r, s) => splitFailed(r.input as Submission, r.task, s),
  }),
  extract: stageHandler(extractStage as StageDefinition),
  merge: stageHandler(mergeStage as StageDefinition),
};

function isStageDefinition(v: unknown): v is StageDefinition {
  const d = v as Partial<StageDefinition> | undefined;
  return !!d && typeof d.name === "string" && typeof d.process === "function" && !!d.input && !!d.output;
}

/** A built-in name, or a path / URL of a module whose default export is a defineStage() result. */
export async function loadHandler(spec: string): Promise<TaskHandler> {
  const builtin = builtinHandlers[spec];
  if (builtin) return builtin;
  if (!/[/\\.]/.test(spec))
    throw new StageLoadError(
      `unknown stage '${spec}' (built-in: ${Object.keys(builtinHandlers).join(", ")})`,
    );
  const url = /^[a-z]+:/.test(spec) ? spec : pathToFileURL(spec).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new StageLoadError(`cannot load stage module '${spec}': ${(err as Error).message}`, { cause: err });
  }
  if (!isStageDefinition(mod.default)) {
    throw new StageLoadError(
      `'${spec}' has no default export made with defineStage({ name, input, output, process })`,
    );
  }
  return stageHandler(mod.default);
}
