import { seriesJson, type SeriesHead } from './series-json';
import { bucketBounds, bucketsOf, MAX_TIME_MS, MIN_TIME_MS, RESOLUTIONS } from './stats-window';
import { seeded } from '../testing/stats-reference';

/** The answer as it was built before: an object per bucket, then JSON.stringify. */
function reference(head: SeriesHead, bounds: number[], values: Array<number | null>): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return JSON.stringify({
    metric: head.metric,
    summary: { protonId: head.protonId, period: head.period },
    buckets: values.map((value, i) => ({ period: { start: iso(bounds[i]), end: iso(bounds[i + 1]) }, value })),
  });
}

describe('seriesJson', () => {
  const head: SeriesHead = { metric: 'totalRequests', protonId: null, period: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-08T00:00:00.000Z' } };

  it('equals JSON.stringify of the bucket objects, for every kind of value and bound in the supported range', () => {
    const rand = seeded(7);
    const special = [0, 1, 9, 10, 99, 1e15 - 1, 1e15, 2 ** 53, 0.5, 1 / 3, 2.5e-7, 1e21, 123456.789, -0, -3, null, Number.NaN, Infinity];
    for (let round = 0; round < 200; round++) {
      const n = Math.floor(rand() * 50);
      const bounds = Array.from({ length: n + 1 }, () => MIN_TIME_MS + Math.floor(rand() * (MAX_TIME_MS - MIN_TIME_MS))).sort((a, b) => a - b);
      if (round === 0) bounds.splice(0, 2, MIN_TIME_MS, Date.UTC(2024, 1, 29, 23, 59, 59, 999));
      if (round === 1) bounds.splice(-1, 1, MAX_TIME_MS - 1);
      const values = Array.from({ length: n }, (_, i) =>
        i % 3 === 0 ? special[Math.floor(rand() * special.length)] : i % 3 === 1 ? Math.floor(rand() * 1e6) : rand() * 10 ** Math.floor(rand() * 30 - 10),
      );
      const h = round % 2 === 0 ? head : { ...head, metric: 'responseTime', protonId: `p"\\${round} é ☃` };
      expect(seriesJson(h, n === 0 ? [] : bounds, values).toString('utf8')).toBe(reference(h, bounds, values));
    }
  });

  it('a PT1M week: 10 080 buckets, each bound formatted as toISOString', () => {
    const period = { startMs: Date.UTC(2026, 10, 21, 12, 0, 0, 7), endMs: Date.UTC(2026, 10, 28, 12) };
    const bounds = bucketBounds(period, 'PT1M');
    const values = bounds.slice(1).map((_, i) => (i % 7 === 0 ? null : i));
    expect(JSON.parse(seriesJson(head, bounds, values).toString('utf8')).buckets).toHaveLength(10_080);
    expect(seriesJson(head, bounds, values).toString('utf8')).toBe(reference(head, bounds, values));
  });

  it('an empty period has no bucket', () => {
    expect(JSON.parse(seriesJson(head, [], []).toString('utf8'))).toEqual({ metric: 'totalRequests', summary: { protonId: null, period: head.period }, buckets: [] });
  });
});

it('bucketBounds are the bounds of bucketsOf', () => {
  const period = { startMs: Date.UTC(2026, 0, 31, 10, 0, 0, 5), endMs: Date.UTC(2026, 6, 1) };
  for (const resolution of RESOLUTIONS) {
    const bounds = bucketBounds(period, resolution);
    expect(bucketsOf(period, resolution)).toEqual(bounds.slice(1).map((endMs, i) => ({ startMs: bounds[i], endMs })));
    expect(bounds[0]).toBe(period.startMs);
    expect(bounds[bounds.length - 1]).toBe(period.endMs);
  }
  expect(bucketBounds({ startMs: 5, endMs: 5 }, 'PT1M')).toEqual([]);
});
