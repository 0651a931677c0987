// Safety nets for the long-running roles (agent, coordinator, up): a stray rejected promise is logged
// instead of taking down a process that holds other work; and with DOCSWARM_EXIT_WITH_PARENT=1 (set by
// test and chaos harnesses) the process shuts down when the process that started it is gone.
import type { LogFn } from "./log.ts";

export function guardRoleProcess(log: LogFn): void {
  process.on("unhandledRejection", (reason) => {
    log("error", "unhandled promise rejection; still running", {
      err: reason instanceof Error ? reason.message : String(reason),
    });
  });
  if (process.env.DOCSWARM_EXIT_WITH_PARENT === "1") {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
    }, 500).unref();
  }
}
