// The bounded chaos run: `docswarm coordinator` and `docswarm agent` as separate processes; one
// agent thread crash, one agent host kill -9 and one leading-coordinator kill -9 while documents are
// in flight. Every document must end with exactly one final result, identical to a fault-free run.
// Under NATS auth: each role process connects as its own user (`docswarm auth init`), and the server
// logs no permissions violation. (`npm run chaos` is the big version and reports the timings.)
import test from "ava";
import { runChaos } from "../drills/chaos/run.ts";

test("chaos: thread crash, host kill -9 and leader kill -9 lose and duplicate nothing", async (t) => {
  t.timeout(180_000);
  const report = await runChaos({
    docs: 14,
    maxPages: 5,
    seed: 7,
    hosts: 2,
    agentsPerHost: 1,
    coordinators: 2,
    slowMsPerPage: 120,
    faultEveryMs: [600, 1000],
    firstFaults: ["thread", "host", "leader"],
    maxFaults: 3,
    timeoutMs: 120_000,
    auth: true,
    log: (l) => t.log(l),
  });
  t.log(
    `recovery p50 ${report.recovery.p50Ms} ms, max ${report.recovery.maxMs} ms; failover ${report.failover.maxMs} ms`,
  );
  for (const p of report.problems) t.log(p);
  t.is(report.lost, 0);
  t.is(report.duplicated, 0);
  t.is(report.mismatched, 0);
  t.is(report.failedDocs, 0);
  t.is(report.permissionViolations, 0, "every role's permissions cover what it did");
  t.is(report.recovery.unrecovered, 0);
  t.true(report.faults.host >= 1, "an agent host was killed");
  t.true(report.faults.leader >= 1, "the leader was killed");
  t.true(report.recovery.samples >= 1, "killed work ran again");
  t.true(report.failover.samples >= 1, "a standby took over");
  // Double execution, bounded by its cause: a task runs again only after the agent running it died.
  const d = report.doubleExecutions;
  t.log(`double executions: ${d.total} (${d.afterKills} after kills, ${d.unexplained} unexplained)`);
  t.is(d.total, report.duplicateCompletions);
  t.is(d.unexplained, 0, d.examples.join("; "));
  t.true(d.afterKills <= d.killedRuns, `${d.afterKills} re-runs for ${d.killedRuns} runs a kill cut short`);
  // One final per document was stored; every refused attempt was a merge run again after a kill.
  t.log(`final publishes attempted ${report.finals.attempted}, refused ${report.finals.refused}`);
  t.true(report.finals.attempted >= report.docs);
  t.is(report.finals.unexplained, 0);
});
