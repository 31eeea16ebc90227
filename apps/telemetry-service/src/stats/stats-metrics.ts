import { METRIC_NAMES } from '@wcp/contracts';
import { minutesIn, type Period } from './stats-window';

/** What SQL returns for one group of records (a period, a bucket, a workload). */
export interface Aggregate {
  total: number;
  /** duration > slow threshold. */
  slow: number;
  /** status 400..499. */
  userErrors: number;
  /** status 500..599. */
  serverErrors: number;
  /** The requested quantile of durations (ms); null without records or when not asked for. */
  responseTime: number | null;
  /** Peak number of requests in flight at one instant (see docs/clickhouse.md). */
  peak: number;
  /** Latest startedAt (epoch ms), null without records. */
  lastMs: number | null;
}

export const EMPTY_AGGREGATE: Aggregate = { total: 0, slow: 0, userErrors: 0, serverErrors: 0, responseTime: null, peak: 0, lastMs: null };

export { METRIC_NAMES };
export type MetricName = (typeof METRIC_NAMES)[number];

export function isMetricName(value: string): value is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(value);
}

export interface PeriodMetrics {
  totalRequests: number;
  requestsPerMinute: number;
  concurrentRequests: number;
  responseTime: number | null;
  slowRequests: number;
  userErrors: number;
  serverErrors: number;
  userErrorRate: number | null;
  serverErrorRate: number | null;
  totalErrorRate: number | null;
}

const ratio = (part: number, total: number): number | null => (total === 0 ? null : part / total);
const perMinute = (count: number, p: Period): number => {
  const minutes = minutesIn(p);
  return minutes === 0 ? 0 : count / minutes;
};

/**
 * The §4 metrics of one period. Counts are 0 and the quantile and the rates null when the
 * period holds no request (a ratio of nothing is undefined, not 0).
 */
export function periodMetrics(a: Aggregate, p: Period): PeriodMetrics {
  return {
    totalRequests: a.total,
    requestsPerMinute: perMinute(a.total, p),
    concurrentRequests: a.peak,
    responseTime: a.total === 0 ? null : a.responseTime,
    slowRequests: a.slow,
    userErrors: a.userErrors,
    serverErrors: a.serverErrors,
    userErrorRate: ratio(a.userErrors, a.total),
    serverErrorRate: ratio(a.serverErrors, a.total),
    totalErrorRate: ratio(a.userErrors + a.serverErrors, a.total),
  };
}

/**
 * One bucket's value: the same number GET /stats returns for a period equal to the bucket.
 * Counts (totalRequests, requestsOverN, requestsPerMinute, concurrentRequests) are 0 for an
 * empty bucket; responseTime and totalErrorRate are null.
 */
export function bucketValue(metric: MetricName, a: Aggregate, bucket: Period): number | null {
  switch (metric) {
    case 'totalRequests':
      return a.total;
    case 'requestsOverN':
      return a.slow;
    case 'requestsPerMinute':
      return perMinute(a.total, bucket);
    case 'concurrentRequests':
      return a.peak;
    case 'responseTime':
      return a.total === 0 ? null : a.responseTime;
    case 'totalErrorRate':
      return ratio(a.userErrors + a.serverErrors, a.total);
  }
}

/** Relative change against the previous period; 0 when it had no data or its value was 0 (no finite change). */
export function trend(current: number, previous: number, previousHadData: boolean): number {
  if (!previousHadData || previous === 0) return 0;
  return (current - previous) / previous;
}
