import type { ReplacementConfigSettings } from '@wcp/contracts';
import {
  analysisWindow,
  decideCancel,
  decideProgress,
  decideResume,
  desiredRuntime,
  evolveReplacement,
  initialReplacementState,
  isOver,
  Observation,
  PresentReplacement,
  ReplacementState,
} from './replacement.decider';
import type { ReplacementEvent } from './replacement.events';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const options = { drainMs: 2000, readyTimeoutMs: 60_000 };
const baseConfig: ReplacementConfigSettings = { warmupDurationMinutes: 0, keepOldVersionMinutes: 0, maxSurge: 1, canarySteps: null, analysis: null };
const runtime = { containerGroups: [] };

function started(strategy: 'rolling' | 'blueGreen' | 'canary', config: Partial<ReplacementConfigSettings>, target: number, previous: number): PresentReplacement {
  const event: ReplacementEvent = {
    type: 'replacement.started',
    schemaVersion: 1,
    data: {
      replacementId: 'r1',
      workloadId: 'w1',
      origin: 'artifact',
      strategy,
      config: { ...baseConfig, ...config },
      candidateArtifactId: 'a2',
      candidateProtonId: 'p2',
      previousProtonId: 'p1',
      runtime,
      targetReplicas: target,
      previousReplicas: previous,
      userId: 'u1',
      readyDeadline: at(60_000),
    },
  };
  return evolveReplacement(initialReplacementState, { ...event, occurredAt: at(0) }) as PresentReplacement;
}

const observe = (o: Partial<Observation>): Observation => ({
  candidateReady: 0,
  candidateErrored: null,
  candidateStopped: false,
  previousReady: 0,
  previousStopped: false,
  analysis: null,
  ...o,
});

/** given(state) / when(observation at t) / then(events), folded so the next step starts from the result. */
function step(s: PresentReplacement, o: Partial<Observation>, ms: number): { s: PresentReplacement; events: ReplacementEvent[] } {
  const events = decideProgress(s, observe(o), at(ms), options);
  const next = events.reduce<ReplacementState>((acc, e) => evolveReplacement(acc, { ...e, occurredAt: at(ms) }), s) as PresentReplacement;
  return { s: next, events };
}

/** Steps until nothing changes (the saga's pass). */
function settle(s: PresentReplacement, o: Partial<Observation>, ms: number): PresentReplacement {
  for (let i = 0; i < 20; i++) {
    const r = step(s, o, ms);
    if (r.events.length === 0) return r.s;
    s = r.s;
  }
  throw new Error('did not settle');
}

describe('replacement decider', () => {
  it('rolls 2 → 3 replicas one at a time without serving capacity dropping below 2, draining before retiring', () => {
    let s = started('rolling', {}, 3, 2);
    expect(s).toMatchObject({ status: 'submitted', candidateDesired: 1, previousDesired: 2, previousRoutable: 2 });
    s = settle(s, {}, 0);
    expect(s.status).toBe('initializing');
    // Over the whole rollout, ready candidates + routable previous replicas stay ≥ min(2, 3).
    const capacity: number[] = [];
    let ready = 0;
    for (let t = 1000; t < 60_000 && s.status !== 'completed'; t += 1000) {
      ready = Math.min(s.candidateDesired, ready + 1);
      s = settle(s, { candidateReady: ready, previousReady: s.previousDesired, previousStopped: s.status === 'finalizing' }, t);
      capacity.push(ready + s.previousRoutable);
      expect(s.previousDesired).toBeGreaterThanOrEqual(s.previousRoutable);
    }
    expect(s.status).toBe('completed');
    expect(Math.min(...capacity)).toBeGreaterThanOrEqual(2);
    expect(s).toMatchObject({ candidateDesired: 3, previousDesired: 0, previousRoutable: 0 });
    expect(s.switchedAt).not.toBeNull();
    expect(isOver(s)).toBe(true);
  });

  it('keeps a retired replica running for the drain time after it left the route table', () => {
    let s = settle(started('rolling', {}, 1, 1), {}, 0);
    s = settle(s, { candidateReady: 1, previousReady: 1 }, 1000);
    expect(s).toMatchObject({ previousRoutable: 0, previousDesired: 1, retireAt: at(3000) });
    expect(desiredRuntime(s, 1, at(1500))).toEqual({ candidate: 1, previous: 1 });
    s = settle(s, { candidateReady: 1, previousReady: 1 }, 3000);
    expect(s).toMatchObject({ previousDesired: 0, status: 'finalizing' });
    expect(desiredRuntime(s, 0, at(3000))).toEqual({ candidate: 1, previous: 'stopped' });
  });

  it('errors a candidate that never becomes ready, and restores the previous proton before stopping the candidate', () => {
    let s = settle(started('rolling', {}, 2, 2), {}, 0);
    s = settle(s, { candidateReady: 0, previousReady: 2 }, 30_000);
    expect(s.status).toBe('initializing');
    s = settle(s, { candidateReady: 0, previousReady: 2 }, 61_000);
    expect(s).toMatchObject({ status: 'errored', phase: 'rollback', previousRoutable: 2, previousDesired: 2 });
    expect(s.message).toMatch(/did not become ready within 60 s/);
    expect(desiredRuntime(s, 2, at(61_000)).candidate).toBe('stopped');
    expect(desiredRuntime(s, 1, at(61_000)).candidate).toBe(1);
    s = settle(s, { candidateStopped: true, previousReady: 2 }, 62_000);
    expect(s.rolledBack).toBe(true);
    expect(s.status).toBe('errored');
  });

  it('restarts the readiness deadline, once, from when a new runtime took the candidate over', () => {
    let s = settle(started('rolling', {}, 2, 2), {}, 0);
    // The instance running it died at 30 s; the survivor owns the workload from 45 s on.
    const renewed = step(s, { candidateReady: 0, previousReady: 2, runningSince: at(45_000) }, 50_000);
    expect(renewed.events).toEqual([{ type: 'replacement.deadline-renewed', schemaVersion: 1, data: { readyDeadline: at(105_000) } }]);
    s = settle(renewed.s, { candidateReady: 0, previousReady: 2, runningSince: at(45_000) }, 70_000);
    expect(s).toMatchObject({ status: 'initializing', readyDeadline: at(105_000) });
    // Still not ready by the renewed deadline: errored, as without a takeover.
    s = settle(s, { candidateReady: 0, previousReady: 2, runningSince: at(45_000) }, 106_000);
    expect(s).toMatchObject({ status: 'errored', phase: 'rollback' });
  });

  it('leaves a deadline set while this runtime ran the candidate, and a ready candidate, alone', () => {
    const s = settle(started('rolling', {}, 2, 2), {}, 0);
    expect(step(s, { candidateReady: 0, previousReady: 2, runningSince: at(-5_000) }, 10_000).events).toEqual([]);
    expect(step(s, { candidateReady: 1, previousReady: 2, runningSince: at(45_000) }, 50_000).events.map((e) => e.type)).not.toContain('replacement.deadline-renewed');
  });

  it('rolls back at once when the runtime gives up on the candidate', () => {
    const s = settle(settle(started('canary', { canarySteps: [{ trafficPercent: 10, pauseMinutes: 1 }] }, 1, 1), {}, 0), { candidateErrored: 'crash loop' }, 1000);
    expect(s).toMatchObject({ status: 'errored', phase: 'rollback', candidatePercent: 0 });
    expect(s.message).toContain('crash loop');
  });

  it('blue/green: warms, switches all traffic at once, keeps the old proton, then finishes', () => {
    let s = settle(started('blueGreen', { warmupDurationMinutes: 1, keepOldVersionMinutes: 2 }, 2, 2), { candidateReady: 2, previousReady: 2 }, 0);
    expect(s).toMatchObject({ status: 'staged', candidatePercent: 0, dueAt: at(60_000) });
    s = settle(s, { candidateReady: 2, previousReady: 2 }, 59_000);
    expect(s.candidatePercent).toBe(0);
    s = settle(s, { candidateReady: 2, previousReady: 2 }, 60_000);
    expect(s).toMatchObject({ status: 'finalizing', candidatePercent: 100, switchedAt: at(60_000), dueAt: at(180_000) });
    expect(desiredRuntime(s, 2, at(100_000)).previous).toBe(2);
    // Cancel during keep-old: an instant switch back.
    const canceled = decideCancel(s);
    expect(canceled).toEqual([expect.objectContaining({ type: 'replacement.rollback-started' })]);
    expect(desiredRuntime(s, 2, at(180_000)).previous).toBe('stopped');
    s = settle(s, { candidateReady: 2, previousStopped: true }, 180_000);
    expect(s.status).toBe('completed');
  });

  it('canary: steps through the weights, waits for a manual resume on a null pause', () => {
    const steps = [
      { trafficPercent: 10, pauseMinutes: 1 },
      { trafficPercent: 50, pauseMinutes: null },
    ];
    let s = settle(started('canary', { canarySteps: steps }, 1, 1), { candidateReady: 1, previousReady: 1 }, 0);
    expect(s).toMatchObject({ status: 'staged', candidatePercent: 10, step: 0, holdUntil: at(60_000) });
    s = settle(s, { candidateReady: 1, previousReady: 1 }, 60_000);
    expect(s).toMatchObject({ candidatePercent: 50, step: 1, awaitingResume: true });
    s = settle(s, { candidateReady: 1, previousReady: 1 }, 600_000);
    expect(s.candidatePercent).toBe(50);
    const resumed = decideResume(s);
    expect(resumed).toEqual([{ type: 'replacement.resumed', schemaVersion: 1, data: {} }]);
    expect(decideResume(started('rolling', {}, 1, 1))).toMatchObject({ code: 'REPLACEMENT_NOT_PAUSED' });
    s = (resumed as ReplacementEvent[]).reduce<ReplacementState>((acc, e) => evolveReplacement(acc, { ...e, occurredAt: at(600_000) }), s) as PresentReplacement;
    s = settle(s, { candidateReady: 1, previousReady: 1, previousStopped: true }, 600_000);
    expect(s).toMatchObject({ status: 'completed', candidatePercent: 100 });
  });

  it('canary with analysis: no verdict on too little traffic, rollback naming the metric over a threshold', () => {
    const analysis = { maxErrorRate: 0.05, maxP99Ms: null, minRequests: 20, intervalSeconds: 10 };
    let s = settle(started('canary', { canarySteps: [{ trafficPercent: 20, pauseMinutes: 0 }], analysis }, 1, 1), { candidateReady: 1, previousReady: 1 }, 0);
    expect(s.status).toBe('staged');
    // The step's pause is over, but nothing is promoted without a passing verdict.
    s = settle(s, { candidateReady: 1, previousReady: 1 }, 5000);
    expect(s.candidatePercent).toBe(20);
    expect(analysisWindow(s, at(5000))).toBeNull();
    expect(analysisWindow(s, at(10_000))).toEqual({ start: at(0), end: at(10_000) });
    const sample = (requests: number, errorRate: number) => ({
      window: { start: at(0), end: at(10_000) },
      candidate: { requests, errorRate, p99Ms: 12 },
      active: { requests: 80, errorRate: 0, p99Ms: 10 },
    });
    s = settle(s, { candidateReady: 1, previousReady: 1, analysis: sample(5, 1) }, 10_000);
    expect(s).toMatchObject({ status: 'staged', lastVerdict: 'inconclusive', nextAnalysisAt: at(20_000) });
    const failed = step(s, { candidateReady: 1, previousReady: 1, analysis: sample(40, 0.5) }, 20_000);
    expect(failed.s).toMatchObject({ status: 'staged', phase: 'rollback', candidatePercent: 0 });
    expect(failed.s.message).toMatch(/errorRate 0\.5 > maxErrorRate 0\.05/);
    const passed = settle(s, { candidateReady: 1, previousReady: 1, analysis: sample(40, 0.01) }, 20_000);
    expect(passed).toMatchObject({ lastAnalysis: { verdict: 'pass' }, candidatePercent: 100, status: 'finalizing' });
  });

  it('cancels to the previous proton; a rolling replacement whose previous proton is retired can no longer be canceled', () => {
    let s = settle(started('rolling', {}, 1, 1), {}, 0);
    const events = decideCancel(s) as ReplacementEvent[];
    const canceled = events.reduce<ReplacementState>((acc, e) => evolveReplacement(acc, { ...e, occurredAt: at(1) }), s) as PresentReplacement;
    const done = settle(canceled, { candidateStopped: true, previousReady: 1 }, 1000);
    expect(done).toMatchObject({ status: 'canceled', rolledBack: true });
    expect(decideCancel(done)).toMatchObject({ code: 'REPLACEMENT_NOT_FOUND' });
    s = settle(s, { candidateReady: 1, previousReady: 1 }, 1000);
    s = settle(s, { candidateReady: 1 }, 5000);
    expect(s.status).toBe('finalizing');
    expect(decideCancel(s)).toMatchObject({ code: 'REPLACEMENT_FINALIZING' });
  });
});
