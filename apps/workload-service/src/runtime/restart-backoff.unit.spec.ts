import { restartDelayMs } from './restart-backoff';

describe('restartDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    const policy = { initialMs: 1000, maxMs: 30000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelayMs(n, policy))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('stays finite for very long crash loops', () => {
    expect(restartDelayMs(10_000, { initialMs: 100, maxMs: 5000 })).toBe(5000);
  });

  it('never exceeds the cap even on the first restart', () => {
    expect(restartDelayMs(1, { initialMs: 500, maxMs: 200 })).toBe(200);
  });
});
