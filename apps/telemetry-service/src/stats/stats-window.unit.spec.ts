import { addMonthsUtc, bucketCount, bucketsOf, DEFAULT_PERIOD_MS, previousPeriod, resolvePeriod } from './stats-window';

const t = (s: string) => Date.parse(s);
const iso = (b: { startMs: number; endMs: number }) => [new Date(b.startMs).toISOString(), new Date(b.endMs).toISOString()];

describe('resolvePeriod', () => {
  const now = t('2026-03-10T12:00:00.000Z');
  it('defaults to the 7 days up to now', () => {
    expect(resolvePeriod(undefined, undefined, now)).toEqual({ startMs: now - DEFAULT_PERIOD_MS, endMs: now });
  });
  it('only a start: until now; only an end: the 7 days before it', () => {
    expect(resolvePeriod(now - 5, undefined, now)).toEqual({ startMs: now - 5, endMs: now });
    expect(resolvePeriod(undefined, now - 1000, now)).toEqual({ startMs: now - 1000 - DEFAULT_PERIOD_MS, endMs: now - 1000 });
  });
  it('start > end is a bad request; start == end is an empty period', () => {
    expect(resolvePeriod(now + 1, now, now)).toMatchObject({ kind: 'bad_request', code: 'INVALID_PERIOD' });
    expect(resolvePeriod(now, now, now)).toEqual({ startMs: now, endMs: now });
  });
  it('previous period has the same length and ends at the start', () => {
    expect(previousPeriod({ startMs: 100, endMs: 250 })).toEqual({ startMs: -50, endMs: 100 });
  });
});

describe('bucketsOf', () => {
  it('aligns on the start and cuts the last bucket at the end', () => {
    const b = bucketsOf({ startMs: t('2026-03-01T00:00:30.000Z'), endMs: t('2026-03-01T00:03:00.000Z') }, 'PT1M');
    expect(b.map(iso)).toEqual([
      ['2026-03-01T00:00:30.000Z', '2026-03-01T00:01:30.000Z'],
      ['2026-03-01T00:01:30.000Z', '2026-03-01T00:02:30.000Z'],
      ['2026-03-01T00:02:30.000Z', '2026-03-01T00:03:00.000Z'],
    ]);
  });
  it('an empty period has no bucket; an exact multiple has no stub', () => {
    expect(bucketsOf({ startMs: 5, endMs: 5 }, 'P1D')).toEqual([]);
    expect(bucketsOf({ startMs: 0, endMs: 7 * 86_400_000 }, 'P1D')).toHaveLength(7);
    expect(bucketsOf({ startMs: 0, endMs: 7 * 86_400_000 }, 'P7D')).toHaveLength(1);
    expect(bucketsOf({ startMs: 0, endMs: 3_600_000 }, 'PT5M')).toHaveLength(12);
  });
  it('months step from the start, clamping the day without drifting', () => {
    const b = bucketsOf({ startMs: t('2026-01-31T10:00:00.000Z'), endMs: t('2026-05-01T00:00:00.000Z') }, 'P1M');
    expect(b.map(iso)).toEqual([
      ['2026-01-31T10:00:00.000Z', '2026-02-28T10:00:00.000Z'],
      ['2026-02-28T10:00:00.000Z', '2026-03-31T10:00:00.000Z'],
      ['2026-03-31T10:00:00.000Z', '2026-04-30T10:00:00.000Z'],
      ['2026-04-30T10:00:00.000Z', '2026-05-01T00:00:00.000Z'],
    ]);
    expect(addMonthsUtc(t('2024-01-31T00:00:00.000Z'), 1)).toBe(t('2024-02-29T00:00:00.000Z'));
    expect(addMonthsUtc(t('2025-11-15T00:00:00.000Z'), 3)).toBe(t('2026-02-15T00:00:00.000Z'));
  });
  it('bucketCount agrees with bucketsOf', () => {
    for (const r of ['PT1M', 'PT5M', 'PT1H', 'P1D', 'P7D', 'P1M'] as const) {
      const p = { startMs: t('2026-01-03T07:13:00.123Z'), endMs: t('2026-03-01T00:00:00.000Z') };
      expect(bucketCount(p, r)).toBe(bucketsOf(p, r).length);
    }
  });
});

