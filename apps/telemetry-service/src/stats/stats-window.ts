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
 * The buckets of a time series: aligned on the period's start, one per resolution step, the
 * last one cut at the period's end, so together they cover the period exactly. Months are
 * counted from the start (each bound is start + k months, not a chain, so days don't drift).
 */
export function bucketsOf(p: Period, resolution: Resolution): Period[] {
  const buckets: Period[] = [];
  const step = stepMs(resolution);
  for (let i = 0; ; i++) {
    const startMs = step !== null ? p.startMs + i * step : addMonthsUtc(p.startMs, i);
    if (startMs >= p.endMs) break;
    const next = step !== null ? startMs + step : addMonthsUtc(p.startMs, i + 1);
    buckets.push({ startMs, endMs: Math.min(next, p.endMs) });
  }
  return buckets;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
let dayCache = { day: Number.NaN, text: '' };

/**
 * `new Date(ms).toISOString()` for 1970..2261, several times faster: a PT1M series formats
 * 10 081 bounds, and toISOString was the largest cost of the answer. The date part is
 * recomputed only when the day changes.
 */
export function isoUtc(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== dayCache.day) dayCache = { day, text: new Date(day * DAY_MS).toISOString().slice(0, 10) };
  const t = ms - day * DAY_MS;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const sec = Math.floor((t % 60_000) / 1000);
  return `${dayCache.text}T${pad2(h)}:${pad2(m)}:${pad2(sec)}.${pad3(t % 1000)}Z`;
}

export function isoPeriod(p: Period): { start: string; end: string } {
  return { start: new Date(p.startMs).toISOString(), end: new Date(p.endMs).toISOString() };
}
