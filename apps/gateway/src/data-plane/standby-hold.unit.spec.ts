import { HoldBook, HoldLimits } from './standby-hold';

const limits: HoldLimits = { perWorkload: 3, total: 5, timeoutMs: 1000, demandEveryMs: 250 };
const book = (overrides: Partial<HoldLimits> = {}) => new HoldBook<string>({ ...limits, ...overrides });

describe('HoldBook', () => {
  it('queues per key in arrival order and releases all of a key, oldest first', () => {
    const b = book();
    expect(b.admit('w1', 'a', 0)).toEqual({ kind: 'held', position: 1, first: true });
    expect(b.admit('w2', 'x', 1)).toEqual({ kind: 'held', position: 1, first: true });
    expect(b.admit('w1', 'b', 2)).toEqual({ kind: 'held', position: 2, first: false });
    expect(b.admit('w1', 'c', 3)).toEqual({ kind: 'held', position: 3, first: false });
    expect(b.oldest('w1')).toBe('a');
    expect(b.total).toBe(4);
    expect(b.release('w1')).toEqual(['a', 'b', 'c']);
    expect(b.count('w1')).toBe(0);
    expect([...b.keys()]).toEqual(['w2']);
    expect(b.total).toBe(1);
    expect(b.release('w1')).toEqual([]);
  });

  it('refuses past the bound of one workload, while others still hold', () => {
    const b = book();
    for (const item of ['a', 'b', 'c']) b.admit('w1', item, 0);
    expect(b.admit('w1', 'd', 0)).toEqual({ kind: 'refused', reason: 'workload-full' });
    expect(b.admit('w2', 'x', 0)).toMatchObject({ kind: 'held' });
    expect(b.count('w1')).toBe(3);
    // Room again once one is gone.
    b.remove('w1', 'a');
    expect(b.admit('w1', 'd', 0)).toMatchObject({ kind: 'held', position: 3 });
  });

  it('refuses past the global bound, across workloads', () => {
    const b = book();
    ['w1', 'w2', 'w3', 'w4', 'w5'].forEach((key) => b.admit(key, key, 0));
    expect(b.admit('w6', 'z', 0)).toEqual({ kind: 'refused', reason: 'total-full' });
    expect(b.total).toBe(5);
    expect(b.count('w6')).toBe(0);
    expect([...b.keys()]).not.toContain('w6');
  });

  it('holds nothing with a bound of 0', () => {
    expect(book({ perWorkload: 0 }).admit('w1', 'a', 0)).toEqual({ kind: 'refused', reason: 'workload-full' });
    expect(book({ total: 0 }).admit('w1', 'a', 0)).toEqual({ kind: 'refused', reason: 'total-full' });
  });

  it('expires, oldest first, exactly the requests whose wait reached the timeout', () => {
    const b = book();
    b.admit('w1', 'a', 0);
    b.admit('w1', 'b', 400);
    b.admit('w1', 'c', 800);
    expect(b.untilDeadline('w1', 100)).toBe(900);
    expect(b.expire('w1', 999)).toEqual([]);
    expect(b.expire('w1', 1400)).toEqual(['a', 'b']);
    expect(b.oldest('w1')).toBe('c');
    expect(b.untilDeadline('w1', 1500)).toBe(300);
    expect(b.untilDeadline('w1', 5000)).toBe(0);
    expect(b.expire('w1', 1800)).toEqual(['c']);
    expect(b.total).toBe(0);
    expect(b.untilDeadline('w1', 0)).toBe(Number.POSITIVE_INFINITY);
    expect([...b.keys()]).toEqual([]);
  });

  it('forgets a caller who left, keeping the others in order; a second removal is a no-op', () => {
    const b = book();
    ['a', 'b', 'c'].forEach((item) => b.admit('w1', item, 0));
    expect(b.remove('w1', 'b')).toBe(true);
    expect(b.remove('w1', 'b')).toBe(false);
    expect(b.remove('w9', 'a')).toBe(false);
    expect(b.total).toBe(2);
    expect(b.release('w1')).toEqual(['a', 'c']);
    // Released requests are not held any more: their close does not count twice.
    expect(b.remove('w1', 'a')).toBe(false);
    expect(b.total).toBe(0);
  });

  it('drops the queue of a key whose last caller left, so nothing is kept', () => {
    const b = book();
    b.admit('w1', 'a', 0);
    b.remove('w1', 'a');
    expect([...b.keys()]).toEqual([]);
    expect(b.admit('w1', 'b', 10)).toMatchObject({ first: true });
  });

  it('signals demand at once for the first held request, then at most every demandEveryMs while holding', () => {
    const b = book();
    expect(b.demandDue('w1', 0)).toBe(false);
    b.admit('w1', 'a', 0);
    expect(b.demandDue('w1', 0)).toBe(true);
    b.admit('w1', 'b', 10);
    expect(b.demandDue('w1', 10)).toBe(false);
    expect(b.demandDue('w1', 249)).toBe(false);
    expect(b.demandDue('w1', 250)).toBe(true);
    expect(b.demandDue('w1', 300)).toBe(false);
    // A new burst after the queue emptied signals at once again.
    b.release('w1');
    b.admit('w1', 'c', 320);
    expect(b.demandDue('w1', 320)).toBe(true);
  });
});
