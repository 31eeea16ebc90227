import { domainError, RESOLUTIONS, type DomainError } from '@wcp/contracts';

export { RESOLUTIONS };
export type Resolution = (typeof RESOLUTIONS)[number];

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
/** Default period of every statistic: the 7 days up to now. */
export const DEFAULT_PERIOD_MS = 7 * DAY_MS;
/** A time series longer than this is refused rather than computed (PT1M over ~69 days). */
export const MAX_BUCKETS = 100_000;

const FIXED_STEP_MS: Record<Exclude<Resolution, 'P1M'>, number> = {
  PT1M: MINUTE_MS,
  PT5M: 5 * MINUTE_MS,
  PT1H: 60 * MINUTE_MS,
  P1D: DAY_MS,
  P7D: 7 * DAY_MS,
};

/** A half-open interval [startMs, endMs) of epoch milliseconds. */
export interface Period {
  startMs: number;
  endMs: number;
}

/** Earliest and latest instants the store can hold (DateTime64(3) range, kept well inside). */
export const MIN_TIME_MS = Date.UTC(1970, 0, 1);
export const MAX_TIME_MS = Date.UTC(2262, 0, 1);

/**
 * Resolves `startTime`/`endTime` (epoch ms, already parsed) against the defaults: end = now,
 * start = end − 7 days. `start > end` is a bad request; `start == end` is an empty period.
 */
export function resolvePeriod(startMs: number | undefined, endMs: number | undefined, nowMs: number): Period | DomainError {
  const end = endMs ?? nowMs;
  const start = startMs ?? end - DEFAULT_PERIOD_MS;
  if (start > end) return domainError('bad_request', 'INVALID_PERIOD', 'startTime must not be after endTime');
  if (start < MIN_TIME_MS || end > MAX_TIME_MS) return domainError('validation', 'PERIOD_OUT_OF_RANGE', 'times must lie between 1970 and 2261', ['query']);
  return { startMs: start, endMs: end };
}

/** The period of equal length right before `p` (for trends). */
export function previousPeriod(p: Period): Period {
  return { startMs: p.startMs - (p.endMs - p.startMs), endMs: p.startMs };
}

export function minutesIn(p: Period): number {
  return (p.endMs - p.startMs) / MINUTE_MS;
}

/** Fixed step in ms, or null for calendar months. */
export function stepMs(resolution: Resolution): number | null {
  return resolution === 'P1M' ? null : FIXED_STEP_MS[resolution];
}

/** `ms` plus `months` calendar months in UTC; the day is clamped to the target month's end (Jan 31 + 1 → Feb 28/29). */
export function addMonthsUtc(ms: number, months: number): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** How many buckets `bucketsOf` would return, without building them. */
export function bucketCount(p: Period, resolution: Resolution): number {
  if (p.endMs <= p.startMs) return 0;
  const step = stepMs(resolution);
  if (step !== null) return Math.ceil((p.endMs - p.startMs) / step);
  let n = 0;
  while (addMonthsUtc(p.startMs, n) < p.endMs) n += 1;
  return n;
}

/**
 * The bounds of a time series' buckets: aligned on the period's start, one bucket per
 * resolution step, the last one cut at the period's end, so together they cover the period
 * exactly. Bucket i is [bounds[i], bounds[i + 1]); n buckets have n + 1 bounds (none for an
 * empty period). Months are counted from the start (each bound is start + k months, not a
 * chain, so days don't drift).
 */
export function bucketBounds(p: Period, resolution: Resolution): number[] {
  const bounds: number[] = [];
  const step = stepMs(resolution);
  for (let i = 0; ; i++) {
    const startMs = step !== null ? p.startMs + i * step : addMonthsUtc(p.startMs, i);
    if (startMs >= p.endMs) break;
    bounds.push(startMs);
  }
  if (bounds.length > 0) bounds.push(p.endMs);
  return bounds;
}

/** The buckets of `bucketBounds` as periods. */
export function bucketsOf(p: Period, resolution: Resolution): Period[] {
  const bounds = bucketBounds(p, resolution);
  return bounds.slice(1).map((endMs, i) => ({ startMs: bounds[i], endMs }));
}

export function isoPeriod(p: Period): { start: string; end: string } {
  return { start: new Date(p.startMs).toISOString(), end: new Date(p.endMs).toISOString() };
}
