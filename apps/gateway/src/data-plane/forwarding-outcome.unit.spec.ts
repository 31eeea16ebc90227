import { AttemptFailure, elapsedMs, failureAction, isReplayable, recordedPath, REPLAY_LIMIT_BYTES, ReplayBuffer, requestRecord } from './forwarding-outcome';

const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const failure = (overrides: Partial<AttemptFailure> = {}): AttemptFailure => ({
  settled: false,
  timedOut: false,
  code: 'ECONNREFUSED',
  message: 'connect ECONNREFUSED',
  attempts: 1,
  replayable: true,
  reusedSocket: false,
  bodyKept: true,
  callerGone: false,
  replica: 'r1',
  workloadId: W,
  timeoutMs: 1500,
  ...overrides,
});

describe('failureAction', () => {
  it('only cuts the connection once the status line is decided', () => {
    expect(failureAction(failure({ settled: true, timedOut: true }))).toEqual({ kind: 'cut' });
  });

  it('answers 504 for a silent replica, never retried', () => {
    expect(failureAction(failure({ timedOut: true }))).toEqual({ kind: 'answer', status: 504, detail: 'Replica r1 did not answer within 1500 ms.', unreachable: false });
  });

  it('retries a refused connection once while nothing of the body is consumed, and not for a caller who left', () => {
    expect(failureAction(failure())).toEqual({ kind: 'retry' });
    expect(failureAction(failure({ attempts: 2 }))).toMatchObject({ kind: 'answer', status: 503, unreachable: true, detail: `Workload ${W} has no ready replica (replica r1 refused the connection).` });
    expect(failureAction(failure({ replayable: false }))).toMatchObject({ kind: 'answer', status: 503 });
    expect(failureAction(failure({ callerGone: true }))).toMatchObject({ kind: 'answer', status: 503 });
  });

  it('retries a reset of a reused connection when the body is kept, else answers 502', () => {
    const reset = { code: 'ECONNRESET', message: 'socket hang up', replayable: false };
    expect(failureAction(failure({ ...reset, reusedSocket: true }))).toEqual({ kind: 'retry' });
    expect(failureAction(failure({ ...reset, reusedSocket: true, bodyKept: false }))).toEqual({ kind: 'answer', status: 502, detail: 'Replica r1 could not be reached: ECONNRESET.', unreachable: false });
    expect(failureAction(failure({ ...reset, reusedSocket: false }))).toMatchObject({ kind: 'answer', status: 502 });
    expect(failureAction(failure({ code: undefined, message: 'boom', replayable: false }))).toMatchObject({ kind: 'answer', status: 502, detail: 'Replica r1 could not be reached: boom.' });
  });
});

describe('replay and record helpers', () => {
  it('a body is replayable while none of it was consumed', () => {
    expect(isReplayable(0, false, false)).toBe(true);
    expect(isReplayable(0, true, true)).toBe(true);
    expect(isReplayable(0, true, false)).toBe(false);
    expect(isReplayable(1, false, true)).toBe(false);
  });

  it('keeps the body up to REPLAY_LIMIT_BYTES, then nothing', () => {
    const small = new ReplayBuffer(10);
    small.push(Buffer.from('abc'));
    expect(small.chunks.map(String)).toEqual(['abc']);
    small.push(Buffer.alloc(REPLAY_LIMIT_BYTES));
    expect(small).toMatchObject({ replayable: false, chunks: [] });
    expect(new ReplayBuffer(REPLAY_LIMIT_BYTES + 1).replayable).toBe(false);
  });

  it('records the request with its path cut to the contract bound and times to the microsecond', () => {
    expect(elapsedMs(1, 2.00049)).toBe(1);
    expect(recordedPath('/x'.repeat(2000))).toHaveLength(2048);
    const record = requestRecord('id-1', { workloadId: W, protonId: 'p', replica: 'r1', method: 'GET', path: '/a', status: 200, startedAt: new Date(0), durationMs: 1.5, bytesIn: 0, bytesOut: 3 });
    expect(record).toEqual({ type: 'request.record', schemaVersion: 1, id: 'id-1', workloadId: W, protonId: 'p', replica: 'r1', method: 'GET', path: '/a', status: 200, startedAt: '1970-01-01T00:00:00.000Z', durationMs: 1.5, bytesIn: 0, bytesOut: 3 });
  });
});
