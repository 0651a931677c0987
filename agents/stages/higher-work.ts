// Whether work of a higher priority than a document's waits for an agent, asked between the pages
// of a long document split extracts whole behind a backlog (./whole-document.ts): when it does, the
// document stops after its current page and the rest is chunked, so the higher-priority work waits
// for a page, not for the whole document.
import { PRIORITIES, type Priority } from "../../schemas/index.ts";
import { taskSources } from "../../streams/index.ts";
import type { AgentServices } from "../services.ts";

/**
 * How often the consumers are asked. A look is one consumer info per stage and higher level; the
 * page loop reads the last answer, so between looks a page costs nothing more.
 */
export const LOOK_EVERY_MS = 100;
/**
 * How often the page loop lets the event loop turn: reading pages is synchronous work between
 * awaits that resolve at once, so without a turn no answer to a look (nor a delivery to the puller)
 * is read until the document ends.
 */
const TURN_EVERY_MS = 20;

/** The levels above `priority` (none above high). */
function above(priority: Priority): Priority[] {
  return PRIORITIES.slice(0, PRIORITIES.indexOf(priority));
}

/** Whether higher-priority work waits: `look` asks now, `now` is the page loop's cheap check. */
export type HigherWork = { look(): Promise<boolean>; now(): boolean | Promise<boolean> };

/**
 * Whether a task of a higher priority than `priority`, of a stage this agent runs, waits that no
 * agent has started. Two places hold such work: this agent's puller (a task pulled ahead while its
 * slot runs the document: it runs only after it) and the consumers (`num_pending`: not delivered to
 * any agent; every other agent is busy too, or it would have it). `now()` reads the last look, starts
 * the next in the background at most every LOOK_EVERY_MS, and lets the event loop turn at most
 * every TURN_EVERY_MS (then it answers after the turn). A look that fails counts as
 * nothing waiting, so the document runs on as it would have. Plain submissions still to triage
 * have no priority yet and are not counted.
 */
export function higherWorkWaits(s: AgentServices, priority: Priority): HigherWork {
  const levels = above(priority);
  if (levels.length === 0) return { look: async () => false, now: () => false };
  const sources = s.stages.flatMap((stage) =>
    taskSources(stage).filter((src) => !src.triage && levels.includes(src.priority)),
  );
  const held = () => levels.some((p) => (s.heldAhead?.(p) ?? 0) > 0);
  let waiting = false;
  let lookedAt = 0;
  let turnedAt = Date.now();
  let looking: Promise<boolean> | undefined;
  const look = () => {
    looking ??= Promise.all(
      sources.map((src) => s.jsm.consumers.info(src.stream, src.consumer).catch(() => undefined)),
    )
      .then((infos) => {
        waiting = infos.some((i) => (i?.num_pending ?? 0) > 0);
        return waiting;
      })
      .finally(() => {
        looking = undefined;
        lookedAt = Date.now();
      });
    return looking;
  };
  return {
    look: async () => held() || (await look()),
    now: () => {
      if (waiting || held()) return true;
      const at = Date.now();
      if (!looking && at - lookedAt >= LOOK_EVERY_MS) void look().catch(() => {});
      if (at - turnedAt < TURN_EVERY_MS) return false;
      turnedAt = at;
      return new Promise<boolean>((resolve) => setImmediate(() => resolve(waiting || held())));
    },
  };
}
