import type { ReplacementStatus } from '@wcp/contracts';
import type { ReplacementPlan } from '../../workloads/domain/workload.events';

/** What the saga observed of the candidate's and the active proton's traffic over one window. */
export type AnalysisSample = {
  window: { start: string; end: string };
  candidate: { requests: number; errorRate: number; p99Ms: number | null };
  active: { requests: number; errorRate: number; p99Ms: number | null };
};

/**
 * Events of the `replacement-<id>` stream: the rollout's own history. Stored types are
 * explicit strings with a schema version. The workload stream only records that a
 * replacement started and how it ended; this stream says how it got there.
 */
export type ReplacementEvent =
  | { type: 'replacement.started'; schemaVersion: 1; data: ReplacementPlan & { workloadId: string; userId: string | null } }
  | { type: 'replacement.status-changed'; schemaVersion: 1; data: { from: ReplacementStatus; to: ReplacementStatus; message: string | null; dueAt: string | null } }
  /** Desired replica counts; `previousRoutable` drops before `previousDesired` so traffic drains first. */
  | { type: 'replacement.scaled'; schemaVersion: 1; data: { candidateDesired: number; previousDesired: number; previousRoutable: number; retireAt: string | null; readyDeadline: string | null } }
  /**
   * The candidate's readiness deadline, renewed because its runtime moved (the instance running
   * the workload restarted, or another took it over): time nobody ran the candidate does not
   * count against it.
   */
  | { type: 'replacement.deadline-renewed'; schemaVersion: 1; data: { readyDeadline: string } }
  /** Share of the candidate in a split (canary, blue/green); `step` is the canary step index. */
  | { type: 'replacement.traffic-shifted'; schemaVersion: 1; data: { candidatePercent: number; step: number | null; holdUntil: string | null; awaitingResume: boolean } }
  | { type: 'replacement.resumed'; schemaVersion: 1; data: Record<string, never> }
  | { type: 'replacement.analysis-recorded'; schemaVersion: 1; data: AnalysisSample & { verdict: 'pass' | 'fail' | 'inconclusive'; reason: string; nextAt: string | null } }
  /** Error or cancel: traffic back to the previous proton, which is restored before the candidate stops. */
  | { type: 'replacement.rollback-started'; schemaVersion: 1; data: { outcome: 'errored' | 'canceled'; message: string } }
  /** The candidate is gone after a rollback; the replacement is over. */
  | { type: 'replacement.rolled-back'; schemaVersion: 1; data: Record<string, never> };

export type ReplacementEventType = ReplacementEvent['type'];
