// How many of a host's extract agents have nothing to do, in shared memory every agent thread of
// the host reads without a message or a round trip. A long document split extracts whole (the swarm
// busy) hands its rest on as chunks when one of them stays idle (./stages/idle-work.ts), and a
// backlog's last long document goes whole when none is idle: chunks of it would find no free agent.
// The host writes it from the statuses its agents report; agents on other hosts are not on it.
import type { AgentStatus } from "../schemas/index.ts";

const IDLE = 0;
const SERVING = 1;

/** Host side: recounted from the slots whenever an agent's status may have changed. */
export class IdleBoardWriter {
  readonly buffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  readonly #cells = new Int32Array(this.buffer);

  update(
    agents: Iterable<{ status: AgentStatus; stages: readonly string[] | undefined }>,
    stages: readonly string[],
  ): void {
    let idle = 0;
    let serving = 0;
    for (const a of agents) {
      if (!(a.stages ?? stages).includes("extract")) continue;
      if (a.status === "idle") idle++;
      if (a.status === "idle" || a.status === "busy") serving++;
    }
    Atomics.store(this.#cells, IDLE, idle);
    Atomics.store(this.#cells, SERVING, serving);
  }
}

/** Agent side: this host's extract agents, and how many of them are idle right now. */
export class IdleBoard {
  readonly #cells: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#cells = new Int32Array(buffer);
  }

  get idle(): number {
    return Atomics.load(this.#cells, IDLE);
  }

  /** Extract agents of this host that are running (idle or busy). */
  get serving(): number {
    return Atomics.load(this.#cells, SERVING);
  }
}
