import type { Actor } from '@wcp/contracts';
import { decideCreate, decideScaleProton, decideDelete, decideStart, decideStatus, decideStop, decideUpdate, evolveWorkload, initialWorkloadState, WorkloadState } from './workload.decider';
import type { WorkloadEvent } from './workload.events';

const owner: Actor = { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 'owner', isAdmin: false, groupIds: [], orgId: null };
const stranger: Actor = { id: 'bbbbbbbbbbbbbbbbbbbbbbbb', username: 'stranger', isAdmin: false, groupIds: [], orgId: null };
const admin: Actor = { id: 'cccccccccccccccccccccccc', username: 'admin', isAdmin: true, groupIds: [], orgId: null };
const W = 'dddddddddddddddddddddddd';
const P = '111111111111111111111111';
const runtime = { containerGroups: [] };

const created: WorkloadEvent = {
  type: 'workload.created',
  schemaVersion: 1,
  data: { workloadId: W, name: 'w', description: null, importance: 'low', artifactId: 'eeeeeeeeeeeeeeeeeeeeeeee', runtime, tags: [], creator: { id: owner.id, username: 'owner' }, createdAt: '2026-11-28T10:00:00.000Z' },
};

const given = (...events: WorkloadEvent[]): WorkloadState => events.reduce(evolveWorkload, initialWorkloadState);
const limits = { activeWorkloadsOfOwner: 0, maxActiveWorkloadsPerOwner: 5 };
const status = (to: WorkloadState extends never ? never : string) =>
  ({ type: 'workload.status-changed', schemaVersion: 1, data: { from: 'submitted', to, protonId: P, reason: null } }) as WorkloadEvent;

describe('workload decider', () => {
  it('creates and deploys in one decision; a second create of the same id conflicts; the owner limit refuses the create (403)', () => {
    const input = { workloadId: W, name: 'w', description: null, importance: 'low' as const, artifactId: 'e'.repeat(24), runtime, tags: [] };
    const decision = decideCreate(initialWorkloadState, owner, input, '2026-11-28T10:00:00.000Z', limits, P);
    expect(decision).toMatchObject({
      events: [
        { type: 'workload.created', data: { creator: { id: owner.id } } },
        { type: 'workload.start-requested', data: { protonId: P } },
      ],
      result: { accepted: true },
    });
    expect('events' in decision && decision.events.reduce(evolveWorkload, initialWorkloadState)).toMatchObject({ status: 'submitted', protonId: P });
    expect(decideCreate(given(created), owner, input, 'now', limits, P)).toMatchObject({ kind: 'conflict', code: 'WORKLOAD_EXISTS' });
    expect(decideCreate(initialWorkloadState, owner, input, 'now', { activeWorkloadsOfOwner: 5, maxActiveWorkloadsPerOwner: 5 }, P)).toMatchObject({
      kind: 'forbidden',
      code: 'WORKLOAD_LIMIT_EXCEEDED',
    });
  });

  it('starts a stopped workload (202) and answers a no-op for one already starting (200)', () => {
    expect(decideStart(given(created), owner, W, limits, P)).toMatchObject({ events: [{ type: 'workload.start-requested' }], result: { accepted: true } });
    const started = given(created, { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } });
    expect(started).toMatchObject({ status: 'submitted' });
    expect(decideStart(started, owner, W, limits, P)).toEqual({ events: [], result: { accepted: false, message: 'Workload is already starting.' } });
    expect(decideStart(given(created, status('running')), owner, W, limits, P)).toMatchObject({ events: [], result: { message: 'Workload is already running.' } });
  });

  it('refuses to start while stopping (409) and past the owner limit (403)', () => {
    const stopping = given(created, { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } }, { type: 'workload.stop-requested', schemaVersion: 1, data: {} });
    expect(decideStart(stopping, owner, W, limits, P)).toMatchObject({ kind: 'conflict', code: 'WORKLOAD_STOPPING' });
    expect(decideStart(given(created), owner, W, { activeWorkloadsOfOwner: 5, maxActiveWorkloadsPerOwner: 5 }, P)).toMatchObject({ kind: 'forbidden', code: 'WORKLOAD_LIMIT_EXCEEDED' });
  });

  it('stops a started workload (202), no-op when stopped or stopping (200)', () => {
    expect(decideStop(given(created), owner, W)).toMatchObject({ events: [], result: { accepted: false } });
    const started = given(created, { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } });
    expect(decideStop(started, owner, W)).toMatchObject({ events: [{ type: 'workload.stop-requested' }], result: { accepted: true } });
  });

  it('hides a workload from strangers (404) and lets admins act as owners', () => {
    expect(decideStop(given(created), stranger, W)).toMatchObject({ kind: 'not_found', code: 'WORKLOAD_NOT_FOUND' });
    expect(decideUpdate(given(created), stranger, W, { name: 'x' })).toMatchObject({ kind: 'not_found' });
    expect(decideDelete(given(created), admin, W, [])).toMatchObject({ events: [{ type: 'workload.deleted' }] });
  });

  it('merges metadata updates and emits nothing when nothing changes', () => {
    expect(decideUpdate(given(created), owner, W, { name: 'w' })).toMatchObject({ events: [], result: { accepted: false } });
    expect(decideUpdate(given(created), owner, W, { name: 'renamed', importance: 'high' })).toMatchObject({
      events: [{ type: 'workload.updated', data: { changes: { name: 'renamed', importance: 'high' } } }],
    });
  });

  it('records only real status transitions of the current proton, and ignores late reports', () => {
    const started = given(created, { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } });
    expect(decideStatus(started, 'running', P, null)).toMatchObject([{ data: { from: 'submitted', to: 'running', protonId: P } }]);
    expect(decideStatus(started, 'submitted', P, null)).toEqual([]);
    expect(decideStatus(started, 'running', 'f'.repeat(24), null)).toEqual([]);
    const stopping = given(created, { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } }, { type: 'workload.stop-requested', schemaVersion: 1, data: {} });
    expect(decideStatus(stopping, 'running', P, null)).toEqual([]);
    expect(decideStatus(stopping, 'stopped', P, null)).toMatchObject([{ data: { to: 'stopped' } }]);
    expect(decideStatus(given(created), 'running', P, null)).toEqual([]);
  });

  it('does not take the stop of a proton a replacement retires for a stop of the workload', () => {
    const plan = {
      replacementId: 'r'.repeat(24), origin: 'settings' as const, strategy: 'rolling' as const,
      config: { warmupDurationMinutes: 0, keepOldVersionMinutes: 0, maxSurge: 1, canarySteps: null, analysis: null },
      candidateArtifactId: 'e'.repeat(24), candidateProtonId: 'c'.repeat(24), previousProtonId: P, runtime, targetReplicas: 1, previousReplicas: 1, readyDeadline: 'later',
    };
    const replacing = given(created, { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } }, status('running'), { type: 'workload.replacement-started', schemaVersion: 1, data: plan });
    expect(decideStatus(replacing, 'stopped', P, null)).toEqual([]);
    expect(decideStatus(replacing, 'errored', P, 'boom')).toMatchObject([{ data: { to: 'errored' } }]);
  });

  it('a deleted workload is gone for every command', () => {
    const deleted = given(created, { type: 'workload.deleted', schemaVersion: 1, data: { leftovers: [] } });
    expect(decideStart(deleted, owner, W, limits, P)).toMatchObject({ kind: 'not_found' });
    expect(decideDelete(deleted, owner, W, [])).toMatchObject({ kind: 'not_found' });
  });
});

describe('decideScaleProton', () => {
  const C = '222222222222222222222222';
  const started: WorkloadEvent = { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: P } };
  const running = status('running');
  const scale = (protonId: string, to: number, from = 1) => ({ protonId, from, to, metric: 'httpRequestsConcurrency' as const, observed: 8, target: 2, policy: 0, mode: 'panic' as const, reason: 'panic' });
  const scaled = (protonId: string, from: number, to: number): WorkloadEvent => ({ type: 'workload.proton-scaled', schemaVersion: 1, data: scale(protonId, to, from) });
  const plan = { replacementId: 'r1', origin: 'settings' as const, strategy: 'rolling' as const, config: {} as never, candidateArtifactId: 'e'.repeat(24), candidateProtonId: C, previousProtonId: P, runtime, targetReplicas: 1, previousReplicas: 1, readyDeadline: 'later' };

  it('records a real change of the running proton, from the count the stream knows', () => {
    expect(decideScaleProton(given(created, started, running), scale(P, 4))).toEqual([scaled(P, 1, 4)]);
    // The stream's count wins over what the caller believed.
    expect(decideScaleProton(given(created, started, running, scaled(P, 1, 4)), scale(P, 2, 1))).toEqual([scaled(P, 4, 2)]);
  });

  it('records nothing for no change, a workload that is not running, or another proton', () => {
    expect(decideScaleProton(given(created, started, running, scaled(P, 1, 4)), scale(P, 4))).toEqual([]);
    expect(decideScaleProton(given(created, started), scale(P, 4))).toEqual([]);
    expect(decideScaleProton(given(created, started, running), scale(C, 4))).toEqual([]);
    expect(decideScaleProton(given(created), scale(P, 4))).toEqual([]);
  });

  it('scales the candidate of a replacement, never the outgoing proton', () => {
    const rolling = given(created, started, running, { type: 'workload.replacement-started', schemaVersion: 1, data: plan });
    expect(decideScaleProton(rolling, scale(P, 4))).toEqual([]);
    expect(decideScaleProton(rolling, scale(C, 3))).toEqual([scaled(C, 1, 3)]);
  });

  it('remembers the count per proton; a new start forgets it, a completed replacement keeps the candidate\'s', () => {
    const s = given(created, started, running, scaled(P, 1, 0));
    expect(s).toMatchObject({ status: 'running', scaled: { [P]: 0 } });
    expect(evolveWorkload(s, started)).toMatchObject({ scaled: {} });
    const finished: WorkloadEvent = { type: 'workload.replacement-finished', schemaVersion: 1, data: { replacementId: 'r1', outcome: 'completed', message: null, protonId: C, artifactId: plan.candidateArtifactId, runtime } };
    const after = given(created, started, running, { type: 'workload.replacement-started', schemaVersion: 1, data: plan }, scaled(C, 1, 3), finished);
    expect(after).toMatchObject({ protonId: C, scaled: { [C]: 3 } });
  });
});
