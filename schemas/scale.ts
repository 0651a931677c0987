// The scale bucket: the autoscaler's decision per stage, honoured by agent hosts that autoscale.
import { z } from "zod";
import { EpochMs, StageName } from "./common.ts";

export const ScaleDecision = z
  .object({
    v: z.literal(1),
    stage: StageName,
    /** Agents serving this stage the swarm should have. */
    desired: z.number().int().nonnegative(),
    min: z.number().int().nonnegative(),
    max: z.number().int().positive(),
    /** What it was decided from: tasks waiting plus in flight, agents alive, share of them busy. */
    backlog: z.number().int().nonnegative(),
    agents: z.number().int().nonnegative(),
    utilisation: z.number().min(0).max(1),
    reason: z.string(),
    decidedAt: EpochMs,
  })
  .meta({ id: "ScaleDecision" });
export type ScaleDecision = z.infer<typeof ScaleDecision>;

export const AutoscalerConfig = z
  .object({
    /** Tasks (waiting plus in flight) one agent is expected to carry before another is added. */
    tasksPerAgent: z.number().positive().default(4),
    min: z.number().int().nonnegative().default(1),
    max: z.number().int().positive().default(16),
    /** Per stage overrides of min and max. */
    stages: z
      .record(StageName, z.object({ min: z.number().int().nonnegative(), max: z.number().int().positive() }))
      .default({}),
    intervalMs: z.number().int().positive().default(1000),
    /** No scale-up sooner than this after the last change of a stage. */
    upCooldownMs: z.number().int().nonnegative().default(2000),
    /** Scale down only after the stage wanted fewer agents for this long. */
    downCooldownMs: z.number().int().nonnegative().default(10_000),
  })
  .meta({ id: "AutoscalerConfig" });
export type AutoscalerConfig = z.infer<typeof AutoscalerConfig>;
export type AutoscalerOptions = z.input<typeof AutoscalerConfig>;
