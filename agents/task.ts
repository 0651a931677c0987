// The seed's Task: execute / canSplit / split / mergeResults. A Task is a stage whose work can be
// divided: processDistributed() splits it (recursively), runs the parts on any agents, and merges
// their results on an agent too. defineTask() turns one into a stage agents can serve.
import type { z } from "zod";
import type { StageContext, StageDefinition } from "./stage.ts";

export interface Task<I, O> {
  execute(input: I, ctx: StageContext): Promise<O>;
  /** True when the input is worth dividing. */
  canSplit(input: I): boolean;
  split(input: I): I[];
  mergeResults(results: O[], ctx: StageContext): O | Promise<O>;
}

export function defineTask<I, O>(
  name: string,
  schemas: { input: z.ZodType<I>; output: z.ZodType<O> },
  task: Task<I, O>,
): StageDefinition<I, O> {
  return {
    name,
    input: schemas.input,
    output: schemas.output,
    process: (input, ctx) => task.execute(input, ctx),
    split: (input) => (task.canSplit(input) ? task.split(input) : undefined),
    merge: (outputs, ctx) => task.mergeResults(outputs, ctx),
  };
}
