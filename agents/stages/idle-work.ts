// Whether another extract agent of this host has nothing to do, asked between the pages of a long
// document split extracts whole because the swarm was busy (./whole-document.ts): when one stays
// idle, the document stops after its current page and its rest is chunked (as when it yields to
// higher-priority work, split.ts), so the agent that ran out of work takes part of it instead of
// waiting for the whole document to end.
import type { AgentServices } from "../services.ts";

/**
 * How long an agent must stay idle before it counts: between two tasks an agent is idle for a
 * moment even with a backlog (its next task already pulled ahead).
 */
export const IDLE_FOR_MS = 25;

/**
 * A page-loop check (called after each page, as extractPages asks `yieldNow`): true once another
 * extract agent of this host has been idle for IDLE_FOR_MS and more than one chunk's pages
 * (`chunkMaxPages`) are left; a shorter rest is finished here, as chunks of it would cost more than
 * they save. Always false outside a host (no idle board).
 */
export function idleAgentWaits(s: AgentServices, pageCount: number): () => boolean {
  const board = s.idle;
  if (!board) return () => false;
  let done = 0;
  let idleSince: number | undefined;
  return () => {
    done++;
    if (board.idle === 0) {
      idleSince = undefined;
      return false;
    }
    const now = Date.now();
    idleSince ??= now;
    return now - idleSince >= IDLE_FOR_MS && pageCount - done > s.processing.chunkMaxPages;
  };
}
