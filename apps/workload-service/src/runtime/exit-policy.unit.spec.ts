import { decideExit, EXIT_PORT_IN_USE, type ExitFacts } from './exit-policy';

const policy = { stableRunMs: 60_000, maxRestarts: 2, backoff: { initialMs: 1000, maxMs: 8000 } };
const crash = (facts: Partial<ExitFacts>) => decideExit({ wanted: true, exitCode: 1, everReadyThisRun: false, portRetries: 0, runMs: 100, consecutiveFailures: 0, ...facts }, policy);

describe('exit policy', () => {
  it('leaves a replica stopped on purpose alone', () => {
    expect(crash({ wanted: false })).toEqual({ kind: 'stopped' });
  });

  it('retries a lost port race at once, a bounded number of times, and only before the replica was ever ready', () => {
    expect(crash({ exitCode: EXIT_PORT_IN_USE })).toEqual({ kind: 'retry-port' });
    expect(crash({ exitCode: EXIT_PORT_IN_USE, portRetries: 3 })).toMatchObject({ kind: 'restart' });
    expect(crash({ exitCode: EXIT_PORT_IN_USE, everReadyThisRun: true })).toMatchObject({ kind: 'restart' });
  });

  it('restarts with an exponential back-off, then calls a crash loop one failure past the limit', () => {
    expect(crash({ consecutiveFailures: 0 })).toEqual({ kind: 'restart', consecutiveFailures: 1, delayMs: 1000 });
    expect(crash({ consecutiveFailures: 1 })).toEqual({ kind: 'restart', consecutiveFailures: 2, delayMs: 2000 });
    expect(crash({ consecutiveFailures: 2 })).toEqual({ kind: 'crash-loop', consecutiveFailures: 3 });
  });

  it('forgives earlier crashes after a stable run', () => {
    expect(crash({ consecutiveFailures: 2, runMs: 60_000 })).toEqual({ kind: 'restart', consecutiveFailures: 1, delayMs: 1000 });
  });
});
