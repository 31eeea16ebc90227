import { domainError, type DomainError, type ReplacementStatus, TERMINAL_REPLACEMENT_STATUSES } from '@wcp/contracts';
import type { ReplacementPlan } from '../../workloads/domain/workload.events';
import type { AnalysisSample, ReplacementEvent } from './replacement.events';

/**
 * One replacement (rollout), rebuilt by folding its stream. `status` is the API's; `phase`
 * says whether the saga moves towards the candidate or back to the previous proton.
 */
export type ReplacementState =
  | { kind: 'absent'; version: number }
  | (Omit<ReplacementPlan, 'replacementId'> & {
      kind: 'present';
      version: number;
      id: string;
      workloadId: string;
      userId: string | null;
      createdAt: string;
      updatedAt: string;
      status: ReplacementStatus;
      message: string | null;
      phase: 'rollout' | 'rollback';
      rollbackOutcome: 'errored' | 'canceled' | null;
      /** The candidate is stopped after a rollback: nothing is left to do. */
      rolledBack: boolean;
      switchedAt: string | null;
      candidateDesired: number;
      previousDesired: number;
      previousRoutable: number;
      retireAt: string | null;
      /** Time the current status waits for (warm-up end, keep-old end). */
      dueAt: string | null;
      statusSince: string;
      candidatePercent: number;
      step: number | null;
      stepStartedAt: string | null;
      holdUntil: string | null;
      awaitingResume: boolean;
      lastVerdict: 'pass' | 'fail' | 'inconclusive' | null;
      nextAnalysisAt: string | null;
      lastAnalysis: (AnalysisSample & { verdict: string; reason: string }) | null;
    });

export type PresentReplacement = Extract<ReplacementState, { kind: 'present' }>;

export const initialReplacementState: ReplacementState = { kind: 'absent', version: 0 };

/** Stored events carry the time they were appended; evolve reads it from there. */
export type TimedReplacementEvent = ReplacementEvent & { occurredAt?: string };

export function evolveReplacement(state: ReplacementState, event: TimedReplacementEvent): ReplacementState {
  const version = state.version + 1;
  const at = event.occurredAt ?? (state.kind === 'present' ? state.updatedAt : '');
  if (event.type === 'replacement.started') {
    const { replacementId, ...plan } = event.data;
    return {
      ...plan,
      kind: 'present',
      version,
      id: replacementId,
      createdAt: at,
      updatedAt: at,
      status: 'submitted',
      message: null,
      phase: 'rollout',
      rollbackOutcome: null,
      rolledBack: false,
      switchedAt: null,
      candidateDesired: plan.strategy === 'rolling' ? Math.min(plan.targetReplicas, plan.config.maxSurge) : plan.targetReplicas,
      previousDesired: plan.previousReplicas,
      previousRoutable: plan.previousReplicas,
      retireAt: null,
      dueAt: null,
      statusSince: at,
      candidatePercent: 0,
      step: null,
      stepStartedAt: null,
      holdUntil: null,
      awaitingResume: false,
      lastVerdict: null,
      nextAnalysisAt: null,
      lastAnalysis: null,
    };
  }
  if (state.kind !== 'present') return { ...state, version };
  const s = { ...state, version, updatedAt: at };
  switch (event.type) {
    case 'replacement.status-changed': {
      const analysis = s.config.analysis;
      const judged = analysis && event.data.to === 'staged';
      return {
        ...s,
        status: event.data.to,
        message: event.data.message ?? s.message,
        dueAt: event.data.dueAt,
        statusSince: at,
        // The candidate serves everything once the previous proton is out of the split.
        switchedAt: event.data.to === 'finalizing' ? (s.switchedAt ?? at) : s.switchedAt,
        nextAnalysisAt: judged ? addSeconds(at, analysis.intervalSeconds) : s.nextAnalysisAt,
      };
    }
    case 'replacement.scaled':
      return {
        ...s,
        candidateDesired: event.data.candidateDesired,
        previousDesired: event.data.previousDesired,
        previousRoutable: event.data.previousRoutable,
        retireAt: event.data.retireAt,
        readyDeadline: event.data.readyDeadline ?? s.readyDeadline,
        switchedAt: event.data.previousRoutable === 0 && s.previousReplicas > 0 ? (s.switchedAt ?? at) : s.switchedAt,
      };
    case 'replacement.deadline-renewed':
      return { ...s, readyDeadline: event.data.readyDeadline };
    case 'replacement.traffic-shifted': {
      const newStep = event.data.step !== s.step || event.data.candidatePercent !== s.candidatePercent;
      return {
        ...s,
        candidatePercent: event.data.candidatePercent,
        step: event.data.step,
        stepStartedAt: newStep ? at : s.stepStartedAt,
        holdUntil: event.data.holdUntil,
        awaitingResume: event.data.awaitingResume,
        // A new step is judged on its own traffic.
        lastVerdict: newStep ? null : s.lastVerdict,
        nextAnalysisAt: newStep && s.config.analysis ? addSeconds(at, s.config.analysis.intervalSeconds) : s.nextAnalysisAt,
        switchedAt: event.data.candidatePercent >= 100 ? (s.switchedAt ?? at) : s.switchedAt,
      };
    }
    case 'replacement.resumed':
      return { ...s, awaitingResume: false, holdUntil: at };
    case 'replacement.analysis-recorded':
      return { ...s, lastVerdict: event.data.verdict, nextAnalysisAt: event.data.nextAt, lastAnalysis: event.data };
    case 'replacement.rollback-started':
      return {
        ...s,
        phase: 'rollback',
        rollbackOutcome: event.data.outcome,
        message: event.data.message,
        candidatePercent: 0,
        previousDesired: s.previousProtonId ? s.previousReplicas : 0,
        previousRoutable: s.previousProtonId ? s.previousReplicas : 0,
        retireAt: null,
        // The previous proton gets the same time to be ready again before the candidate goes anyway.
        dueAt: null,
      };
    case 'replacement.rolled-back':
      return { ...s, rolledBack: true };
  }
}

function addSeconds(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}

function addMinutes(iso: string, minutes: number): string {
  return addSeconds(iso, minutes * 60);
}

/** Over: completed, or rolled back to the previous proton. The workload's lock can be released. */
export function isOver(s: PresentReplacement): boolean {
  return s.status === 'completed' || s.rolledBack;
}

/** What the saga saw of the runtime just before deciding. */
export interface Observation {
  candidateReady: number;
  /** The runtime gave up on the candidate (crash loop, readiness timeout, bad image). */
  candidateErrored: string | null;
  candidateStopped: boolean;
  previousReady: number;
  previousStopped: boolean;
  /** Fetched when `analysisWindow` asked for one. */
  analysis: AnalysisSample | null;
  /** Since when this runtime has run the workload (it booted, or took the workload over); null: unknown. */
  runningSince?: string | null;
}

export interface ProgressOptions {
  /** How long a retired replica stays out of the route table before it is stopped (ms). */
  drainMs: number;
  /** How long candidate replicas may take to become ready (ms). */
  readyTimeoutMs: number;
}

const status = (s: PresentReplacement, to: ReplacementStatus, message: string | null = null, dueAt: string | null = null): ReplacementEvent => ({
  type: 'replacement.status-changed',
  schemaVersion: 1,
  data: { from: s.status, to, message, dueAt },
});

const startRollback = (outcome: 'errored' | 'canceled', message: string): ReplacementEvent => ({ type: 'replacement.rollback-started', schemaVersion: 1, data: { outcome, message } });

/**
 * The rollout policy, one transition per call: given the replacement and what the runtime
 * shows, the events that move it on (empty when it waits). The saga appends them, makes the
 * runtime match `desiredRuntime`, and asks again. Pure, so a restarted saga decides the same.
 */
export function decideProgress(s: PresentReplacement, o: Observation, now: string, options: ProgressOptions): ReplacementEvent[] {
  if (isOver(s) || s.status === 'completed') return [];
  if (s.phase === 'rollback') return rollbackProgress(s, o, now, options);
  if (s.status === 'submitted') return [status(s, 'initializing')];
  if (o.candidateErrored) return [startRollback('errored', `The candidate proton errored: ${o.candidateErrored}`)];
  // A deadline set before this runtime ran the candidate (its last instance restarted or died) starts over from then, once.
  if (o.runningSince && s.readyDeadline && o.candidateReady < s.candidateDesired && s.status !== 'finalizing') {
    const renewed = new Date(Date.parse(o.runningSince) + options.readyTimeoutMs).toISOString();
    if (renewed > s.readyDeadline) return [{ type: 'replacement.deadline-renewed', schemaVersion: 1, data: { readyDeadline: renewed } }];
  }
  if (o.candidateReady < s.candidateDesired && now > s.readyDeadline && s.status !== 'finalizing') {
    const secs = Math.round(options.readyTimeoutMs / 1000);
    return [startRollback('errored', `The candidate did not become ready within ${secs} s (${o.candidateReady} of ${s.candidateDesired} replicas ready).`)];
  }
  // A sample counts once, when one was due (a repeated pass must not judge the same window twice).
  if (o.analysis && analysisWindow(s, now)) {
    const judged = judge(s, o.analysis, now);
    if (judged.verdict === 'fail') return [judged.event, startRollback('errored', `Rolled back by analysis: ${judged.reason}.`)];
    return [judged.event];
  }
  switch (s.strategy) {
    case 'rolling':
      return rolling(s, o, now, options);
    case 'blueGreen':
      return blueGreen(s, o, now);
    case 'canary':
      return canary(s, o, now);
  }
}

function rolling(s: PresentReplacement, o: Observation, now: string, options: ProgressOptions): ReplacementEvent[] {
  const target = s.targetReplicas;
  if (s.status === 'finalizing') return o.previousStopped ? [status(s, 'completed', 'The candidate serves all traffic.')] : [];
  if (o.candidateReady >= s.candidateDesired && s.status === 'initializing') return [status(s, 'promoting', 'Candidate replicas are ready; retiring previous ones.')];
  // Serving capacity never drops below what both sides have in common.
  const keep = Math.min(s.previousReplicas, target);
  if (o.candidateReady >= s.candidateDesired) {
    const routable = Math.min(s.previousRoutable, Math.max(0, keep - o.candidateReady));
    const candidateDesired = s.candidateDesired < target ? Math.min(target, s.candidateDesired + s.config.maxSurge) : s.candidateDesired;
    if (routable < s.previousRoutable || candidateDesired > s.candidateDesired) {
      return [
        {
          type: 'replacement.scaled',
          schemaVersion: 1,
          data: {
            candidateDesired,
            previousDesired: s.previousDesired,
            previousRoutable: routable,
            retireAt: routable < s.previousRoutable ? new Date(Date.parse(now) + options.drainMs).toISOString() : s.retireAt,
            // A new batch gets its own time to become ready.
            readyDeadline: candidateDesired > s.candidateDesired ? new Date(Date.parse(now) + options.readyTimeoutMs).toISOString() : null,
          },
        },
      ];
    }
  }
  if (s.previousDesired > s.previousRoutable && (!s.retireAt || now >= s.retireAt)) {
    return [
      { type: 'replacement.scaled', schemaVersion: 1, data: { candidateDesired: s.candidateDesired, previousDesired: s.previousRoutable, previousRoutable: s.previousRoutable, retireAt: null, readyDeadline: null } },
    ];
  }
  if (s.candidateDesired >= target && o.candidateReady >= target && s.previousDesired === 0) return [status(s, 'finalizing', 'Stopping the previous proton.')];
  return [];
}

function blueGreen(s: PresentReplacement, o: Observation, now: string): ReplacementEvent[] {
  switch (s.status) {
    case 'initializing':
      return o.candidateReady >= s.targetReplicas ? [status(s, 'staged', 'The candidate is ready and warming up.', addMinutes(now, s.config.warmupDurationMinutes))] : [];
    case 'staged': {
      if (s.dueAt && now < s.dueAt) return [];
      if (s.config.analysis && s.lastVerdict !== 'pass') return [];
      return [
        { type: 'replacement.traffic-shifted', schemaVersion: 1, data: { candidatePercent: 100, step: null, holdUntil: null, awaitingResume: false } },
        status(s, 'promoting', 'Traffic switched to the candidate.'),
      ];
    }
    case 'promoting':
      return [status(s, 'finalizing', 'Keeping the previous proton for an instant switch back.', addMinutes(now, s.config.keepOldVersionMinutes))];
    case 'finalizing':
      return o.previousStopped && (!s.dueAt || now >= s.dueAt) ? [status(s, 'completed', 'The candidate serves all traffic.')] : [];
    default:
      return [];
  }
}

function canary(s: PresentReplacement, o: Observation, now: string): ReplacementEvent[] {
  const steps = s.config.canarySteps ?? [];
  const shiftTo = (step: number): ReplacementEvent => {
    const { trafficPercent, pauseMinutes } = steps[step];
    return {
      type: 'replacement.traffic-shifted',
      schemaVersion: 1,
      data: { candidatePercent: trafficPercent, step, holdUntil: pauseMinutes === null ? null : addMinutes(now, pauseMinutes), awaitingResume: pauseMinutes === null },
    };
  };
  switch (s.status) {
    case 'initializing':
      return o.candidateReady >= s.targetReplicas ? [shiftTo(0), status(s, 'staged', `Canary step 1 of ${steps.length}: ${steps[0].trafficPercent} % of traffic.`)] : [];
    case 'staged': {
      const step = s.step ?? 0;
      if (s.awaitingResume || (s.holdUntil && now < s.holdUntil)) return [];
      if (s.config.analysis && s.lastVerdict !== 'pass') return [];
      if (step + 1 < steps.length) {
        const next = steps[step + 1];
        return [shiftTo(step + 1), status(s, 'staged', `Canary step ${step + 2} of ${steps.length}: ${next.trafficPercent} % of traffic.`)];
      }
      return [
        ...(s.candidatePercent < 100 ? [{ type: 'replacement.traffic-shifted', schemaVersion: 1, data: { candidatePercent: 100, step: null, holdUntil: null, awaitingResume: false } } as ReplacementEvent] : []),
        status(s, 'promoting', 'Traffic switched to the candidate.'),
      ];
    }
    case 'promoting':
      return [status(s, 'finalizing', 'Stopping the previous proton.', addMinutes(now, s.config.keepOldVersionMinutes))];
    case 'finalizing':
      return o.previousStopped && (!s.dueAt || now >= s.dueAt) ? [status(s, 'completed', 'The candidate serves all traffic.')] : [];
    default:
      return [];
  }
}

function rollbackProgress(s: PresentReplacement, o: Observation, now: string, options: ProgressOptions): ReplacementEvent[] {
  const target = s.rollbackOutcome === 'canceled' ? 'canceling' : 'errored';
  if (s.status !== target && s.status !== 'canceled') return [status(s, target, s.message, new Date(Date.parse(now) + options.readyTimeoutMs).toISOString())];
  if (!o.candidateStopped) return [];
  return [{ type: 'replacement.rolled-back', schemaVersion: 1, data: {} }, ...(s.rollbackOutcome === 'canceled' ? [status(s, 'canceled', s.message)] : [])];
}

/**
 * The verdict on one sample: too few requests is no verdict; a candidate over a threshold fails.
 * Thresholds are absolute; the active proton's figures are recorded beside them for context.
 */
function judge(s: PresentReplacement, sample: AnalysisSample, now: string): { verdict: 'pass' | 'fail' | 'inconclusive'; reason: string; event: ReplacementEvent } {
  const a = s.config.analysis!;
  const c = sample.candidate;
  let verdict: 'pass' | 'fail' | 'inconclusive' = 'pass';
  let reason = `${c.requests} requests, error rate ${round(c.errorRate)}, p99 ${c.p99Ms === null ? 'n/a' : `${round(c.p99Ms)} ms`}`;
  if (c.requests < a.minRequests) {
    verdict = 'inconclusive';
    reason = `only ${c.requests} of ${a.minRequests} requests needed to judge the candidate`;
  } else if (a.maxErrorRate != null && c.errorRate > a.maxErrorRate) {
    verdict = 'fail';
    reason = `errorRate ${round(c.errorRate)} > maxErrorRate ${a.maxErrorRate} over ${c.requests} requests (active: ${round(sample.active.errorRate)})`;
  } else if (a.maxP99Ms != null && c.p99Ms !== null && c.p99Ms > a.maxP99Ms) {
    verdict = 'fail';
    reason = `p99 ${round(c.p99Ms)} ms > maxP99Ms ${a.maxP99Ms} ms over ${c.requests} requests (active: ${sample.active.p99Ms === null ? 'n/a' : `${round(sample.active.p99Ms)} ms`})`;
  }
  return {
    verdict,
    reason,
    event: { type: 'replacement.analysis-recorded', schemaVersion: 1, data: { ...sample, verdict, reason, nextAt: addSeconds(now, a.intervalSeconds) } },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** The window the saga should fetch an analysis sample for now, or null. */
export function analysisWindow(s: PresentReplacement, now: string): { start: string; end: string } | null {
  if (!s.config.analysis || s.phase !== 'rollout' || !s.nextAnalysisAt || now < s.nextAnalysisAt) return null;
  const judged = s.strategy === 'rolling' ? s.status === 'promoting' : s.status === 'staged';
  if (!judged) return null;
  const start = s.strategy === 'canary' ? (s.stepStartedAt ?? s.statusSince) : s.statusSince;
  return { start, end: now };
}

/** What the runtime should run for this replacement: replica counts, or stopped. */
export interface DesiredRuntime {
  /** `untouched` once completed: the candidate is the workload's proton, the lifecycle saga's again. */
  candidate: number | 'stopped' | 'untouched';
  /** `untouched` once the replacement is over: the lifecycle saga owns the workload's proton again. */
  previous: number | 'stopped' | 'untouched';
}

export function desiredRuntime(s: PresentReplacement, previousReady: number, now: string): DesiredRuntime {
  if (s.rolledBack) return { candidate: 'stopped', previous: 'untouched' };
  if (s.status === 'completed') return { candidate: 'untouched', previous: s.previousProtonId ? 'stopped' : 'untouched' };
  if (s.phase === 'rollback') {
    // The candidate keeps serving until the previous proton is back (or its deadline passed).
    const restored = !s.previousProtonId || previousReady >= s.previousDesired || (s.dueAt !== null && now >= s.dueAt);
    return { candidate: restored ? 'stopped' : s.candidateDesired, previous: s.previousProtonId ? s.previousDesired : 'untouched' };
  }
  const previousDone = s.status === 'finalizing' && (s.strategy === 'rolling' || !s.dueAt || now >= s.dueAt);
  return { candidate: s.candidateDesired, previous: !s.previousProtonId ? 'untouched' : previousDone ? 'stopped' : s.previousDesired };
}

/** Earliest time the saga must look again without any runtime event, or null. */
export function nextWake(s: PresentReplacement): string | null {
  if (isOver(s)) return null;
  const times = [s.readyDeadline, s.dueAt, s.retireAt, s.holdUntil, s.nextAnalysisAt].filter((t): t is string => !!t);
  return times.length ? times.sort()[0] : null;
}

export function replacementNotFound(): DomainError {
  return domainError('not_found', 'REPLACEMENT_NOT_FOUND', 'There is no active replacement for this workload.');
}

/** Cancel: possible until the candidate serves alone; then it is finished, not undone. */
export function decideCancel(s: ReplacementState): ReplacementEvent[] | DomainError {
  if (s.kind !== 'present' || TERMINAL_REPLACEMENT_STATUSES.includes(s.status) || s.phase === 'rollback') return replacementNotFound();
  if (s.status === 'finalizing' && (s.strategy === 'rolling' || s.previousDesired === 0)) {
    return domainError('conflict', 'REPLACEMENT_FINALIZING', 'The previous proton is already retired; the replacement can no longer be canceled.');
  }
  return [startRollback('canceled', 'Canceled; the previous proton keeps serving.')];
}

export function decideResume(s: ReplacementState): ReplacementEvent[] | DomainError {
  if (s.kind !== 'present' || TERMINAL_REPLACEMENT_STATUSES.includes(s.status) || s.phase === 'rollback') return replacementNotFound();
  if (!s.awaitingResume) return domainError('conflict', 'REPLACEMENT_NOT_PAUSED', 'The replacement is not waiting for a resume (only a canary step with pauseMinutes: null does).');
  return [{ type: 'replacement.resumed', schemaVersion: 1, data: {} }];
}
