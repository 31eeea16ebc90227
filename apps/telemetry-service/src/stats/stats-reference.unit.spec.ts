import { refDedup, refPeak, refQuantile, refSelect } from '../testing/stats-reference';

describe('reference quantile (ClickHouse quantileExactInclusive)', () => {
  it('interpolates linearly between order statistics like numpy', () => {
    expect(refQuantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(refQuantile([4, 1, 3, 2], 0.25)).toBe(1.75);
    expect(refQuantile([10, 20], 0.3)).toBe(13);
    expect(refQuantile([7], 0.99)).toBe(7);
    expect(refQuantile([5, 5, 5, 9], 0.5)).toBe(5);
    expect(refQuantile([1, 2, 3], 0)).toBe(1);
    expect(refQuantile([1, 2, 3], 1)).toBe(3);
    expect(refQuantile([], 0.5)).toBeNull();
  });
});

describe('reference peak concurrency', () => {
  const r = (startedMs: number, durationMs: number) => ({ startedMs, durationMs });
  it('an end at t and a start at t do not overlap', () => {
    expect(refPeak([r(0, 10), r(10, 5)])).toBe(1);
    expect(refPeak([r(0, 10), r(9.5, 5)])).toBe(2);
  });
  it('zero-length requests are in flight at their start only', () => {
    expect(refPeak([r(5, 0)])).toBe(1);
    expect(refPeak([r(5, 0), r(5, 0), r(0, 5)])).toBe(2);
    expect(refPeak([r(5, 0), r(5, 0), r(0, 6)])).toBe(3);
  });
  it('equal starts all count', () => {
    expect(refPeak([r(1, 1), r(1, 1), r(1, 1), r(2, 1)])).toBe(3);
    expect(refPeak([])).toBe(0);
  });
});

it('dedup keeps the earliest arrival; resets exclude records that arrived at or before them', () => {
  const base = { workloadId: 'w', protonId: 'p', status: 200, startedMs: 100, durationMs: 1 };
  const recs = refDedup([{ ...base, id: 'a', arrivedMs: 5 }, { ...base, id: 'a', arrivedMs: 2 }, { ...base, id: 'b', arrivedMs: 9 }]);
  expect(recs.map((x) => [x.id, x.arrivedMs])).toEqual([['a', 2], ['b', 9]]);
  const sel = { workloadIds: ['w'], startMs: 0, endMs: 1000 };
  expect(refSelect(recs, [{ workloadId: 'w', resetAtMs: 5 }], sel).map((x) => x.id)).toEqual(['b']);
  expect(refSelect(recs, [{ workloadId: 'w', protonId: 'q', resetAtMs: 50 }], sel)).toHaveLength(2);
  expect(refSelect(recs, [{ workloadId: 'w', startMs: 101, resetAtMs: 50 }], sel)).toHaveLength(2);
});
