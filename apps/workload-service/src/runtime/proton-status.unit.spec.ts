import { aggregateStatus, exitCodeOf, initialConditions, renderSnapshot, replicaStatus, setCondition, terminationReason, type ReplicaView } from './proton-status';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:05.000Z';

function view(over: Partial<ReplicaView> = {}): ReplicaView {
  return {
    name: 'p-0',
    containerName: 'main',
    image: 'local/echo-model:1',
    lifecycle: 'running',
    address: '127.0.0.1:40000',
    podStartedAt: T0,
    startedAt: T0,
    ready: true,
    restartCount: 0,
    conditions: initialConditions(T0),
    ...over,
  };
}

describe('aggregateStatus', () => {
  it('is running when every replica is ready', () => {
    expect(aggregateStatus('active', [view(), view({ name: 'p-1' })])).toBe('running');
  });

  it('lets the worst replica win', () => {
    expect(aggregateStatus('active', [view(), view({ ready: false })])).toBe('launching');
    expect(aggregateStatus('active', [view(), view({ lifecycle: 'backoff', ready: false })])).toBe('launching');
    expect(aggregateStatus('active', [view({ lifecycle: 'starting', ready: false }), view({ lifecycle: 'pending', ready: false })])).toBe('provisioning');
    expect(aggregateStatus('active', [view(), view({ lifecycle: 'failed', ready: false })])).toBe('errored');
  });

  it('follows the proton lifecycle over its replicas', () => {
    expect(aggregateStatus('errored', [view()])).toBe('errored');
    expect(aggregateStatus('stopping', [view()])).toBe('stopping');
    expect(aggregateStatus('stopped', [view({ lifecycle: 'stopped', ready: false })])).toBe('stopped');
  });

  it('ignores replicas leaving through a scale-down', () => {
    expect(aggregateStatus('active', [view(), view({ lifecycle: 'stopping', ready: false })])).toBe('running');
    expect(aggregateStatus('active', [])).toBe('running');
  });

  it('maps each replica lifecycle', () => {
    expect(replicaStatus({ lifecycle: 'pending', ready: false })).toBe('provisioning');
    expect(replicaStatus({ lifecycle: 'running', ready: false })).toBe('launching');
    expect(replicaStatus({ lifecycle: 'stopped', ready: false })).toBe('stopped');
  });
});

describe('setCondition', () => {
  it('moves lastTransitionTime only when the value changes', () => {
    const c1 = setCondition(initialConditions(T0), 'Ready', false, T1, 'Probe', 'x');
    expect(c1.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', value: false, lastTransitionTime: T0, reason: 'Probe', message: 'x' });
    const c2 = setCondition(c1, 'Ready', true, T1);
    expect(c2.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', value: true, lastTransitionTime: T1, reason: null, message: null });
  });
});

describe('renderSnapshot', () => {
  it('renders the API status details shape', () => {
    const conditions = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].reduce(
      (acc, type) => setCondition(acc, type as 'Ready', true, T1),
      initialConditions(T0),
    );
    const snap = renderSnapshot('running', [view({ conditions })], T1);
    expect(snap).toEqual({
      overallStatus: { state: 'running', summary: '1/1 replicas ready', lastUpdated: T1 },
      replicas: [
        {
          name: 'p-0',
          status: 'running',
          address: '127.0.0.1:40000',
          startedAt: T0,
          conditions: [
            { type: 'PodScheduled', value: true, lastTransitionTime: T1, reason: null, message: null },
            { type: 'Initialized', value: true, lastTransitionTime: T1, reason: null, message: null },
            { type: 'ContainersReady', value: true, lastTransitionTime: T1, reason: null, message: null },
            { type: 'Ready', value: true, lastTransitionTime: T1, reason: null, message: null },
          ],
          containers: [{ name: 'main', status: 'running', ready: true, restartCount: 0, image: 'local/echo-model:1', startedAt: T0 }],
        },
      ],
    });
  });

  it('shows a crash-looping container as waiting with its last termination', () => {
    const snap = renderSnapshot('launching', [
      view({
        lifecycle: 'backoff',
        ready: false,
        restartCount: 2,
        waitingReason: 'CrashLoopBackOff',
        message: 'back-off 200 ms restarting failed container',
        lastTermination: { reason: 'Error', exitCode: 1, signal: null, startedAt: T0, finishedAt: T1 },
      }),
    ], T1);
    expect(snap.overallStatus.summary).toBe('0/1 replicas ready; p-0: CrashLoopBackOff (2 restarts)');
    expect(snap.replicas[0].status).toBe('running');
    expect(snap.replicas[0].containers[0]).toEqual({
      name: 'main',
      status: 'waiting',
      ready: false,
      restartCount: 2,
      image: 'local/echo-model:1',
      startedAt: null,
      reason: 'CrashLoopBackOff',
      message: 'back-off 200 ms restarting failed container',
      lastState: { status: 'terminated', reason: 'Error', exitCode: 1, signal: null, startedAt: T0, finishedAt: T1 },
    });
  });

  it('shows failed and stopped replicas as terminated, with the errored reason as summary', () => {
    const failed = view({ lifecycle: 'failed', ready: false, terminated: { reason: 'ReadinessTimeout', exitCode: 0, signal: null, startedAt: T0, finishedAt: T1, message: 'not ready' } });
    const snap = renderSnapshot('errored', [failed], T1, 'replica p-0 did not become ready');
    expect(snap.overallStatus).toEqual({ state: 'errored', summary: 'replica p-0 did not become ready', lastUpdated: T1 });
    expect(snap.replicas[0].status).toBe('failed');
    expect(snap.replicas[0].containers[0]).toMatchObject({ status: 'terminated', reason: 'ReadinessTimeout', exitCode: 0, message: 'not ready' });
    const stopped = renderSnapshot('stopped', [view({ lifecycle: 'stopped', ready: false, terminated: { reason: 'Completed', exitCode: 0, signal: null, startedAt: T0, finishedAt: T1 } })], T1);
    expect(stopped.replicas[0].status).toBe('succeeded');
    expect(stopped.overallStatus.summary).toBe('stopped');
  });

  it('shows a replica without a process as pending / ContainerCreating', () => {
    const snap = renderSnapshot('provisioning', [view({ lifecycle: 'pending', ready: false, startedAt: null, podStartedAt: null, address: null })], T0);
    expect(snap.replicas[0]).toMatchObject({ status: 'pending', address: null, startedAt: null });
    expect(snap.replicas[0].containers[0]).toMatchObject({ status: 'waiting', reason: 'ContainerCreating', startedAt: null });
  });
});

describe('exit codes', () => {
  it('uses 128+N for signals and Kubernetes reasons', () => {
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
    expect(exitCodeOf(3, null)).toBe(3);
    expect(terminationReason(0, null)).toBe('Completed');
    expect(terminationReason(null, 'SIGKILL')).toBe('Killed');
    expect(terminationReason(1, null)).toBe('Error');
  });
});

describe('aggregateStatus with joining replicas', () => {
  it('keeps a running proton running while replicas of a scale-up start, but not when one fails', () => {
    const ready = { lifecycle: 'running' as const, ready: true };
    expect(aggregateStatus('active', [ready, { lifecycle: 'pending', ready: false, joining: true }, { lifecycle: 'starting', ready: false, joining: true }])).toBe('running');
    expect(aggregateStatus('active', [ready, { lifecycle: 'failed', ready: false, joining: true }])).toBe('errored');
    expect(aggregateStatus('active', [ready, { lifecycle: 'starting', ready: false }])).toBe('launching');
    // Scaled to zero: no replica, still running.
    expect(aggregateStatus('active', [])).toBe('running');
  });
});
