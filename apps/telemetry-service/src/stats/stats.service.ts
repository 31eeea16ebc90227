import { domainError, isDomainError, type DomainError } from '@wcp/contracts';
import { parseInput } from '../http/parse-input';
import { bucketValue, EMPTY_AGGREGATE, isMetricName, METRIC_NAMES, periodMetrics, trend, type Aggregate, type MetricName, type PeriodMetrics } from './stats-metrics';
import {
  RequestStatsBody,
  ResetBody,
  SeriesQuery,
  StatsQuery,
  SummaryBody,
  WorkloadIdParam,
} from './stats-query.schema';
import { seriesJson } from './series-json';
import type { Measure, StatsRepository } from './stats.repository';
import { bucketBounds, bucketCount, isoPeriod, MAX_BUCKETS, previousPeriod, resolvePeriod, stepMs, type Period } from './stats-window';

export interface StatsBody {
  period: { start: string; end: string };
  metrics: PeriodMetrics;
}

/** The answer of a series (served as the JSON bytes `seriesJson` writes). */
export interface SeriesBody {
  metric: string;
  summary: { protonId: string | null; period: { start: string; end: string } };
  buckets: Array<{ period: { start: string; end: string }; value: number | null }>;
}

export interface SummaryStats {
  workloads: { total: number; active: number };
  requests: { total: number; succeeded: number; failed: number; trend: number };
  errorRate: { rate: number; trend: number };
  responseTime: { millis: number; trend: number };
  concurrentRequests: { count: number; trend: number };
}

export interface RequestStats {
  totalRequests: number;
  errorRate: number | null;
  responseTime: number | null;
  concurrentRequests: number;
  lastRequestAt: string | null;
}

/** What each series needs besides the count (bucketValue reads nothing else). */
const METRIC_MEASURES: Record<MetricName, readonly Measure[]> = {
  totalRequests: [],
  requestsPerMinute: [],
  requestsOverN: ['slow'],
  concurrentRequests: ['peak'],
  responseTime: ['quantile'],
  totalErrorRate: ['errors'],
};

/**
 * The statistics of spec/API.md §4, served to the gateway. Inputs arrive unparsed; refusals are
 * returned as DomainError values (validation / bad_request / not_found).
 */
export class StatsService {
  constructor(
    private readonly repository: StatsRepository,
    private readonly now: () => number,
  ) {}

  async stats(workloadId: string, rawQuery: unknown): Promise<StatsBody | DomainError> {
    const id = parseInput(WorkloadIdParam, workloadId, 'path');
    if (isDomainError(id)) return id;
    const q = parseInput(StatsQuery, rawQuery, 'query');
    if (isDomainError(q)) return q;
    const period = resolvePeriod(q.startTime, q.endTime, this.now());
    if (isDomainError(period)) return period;
    const groups = await this.repository.aggregate({ workloadIds: [id], protonId: q.protonId, period }, { by: 'all' }, {
      quantile: q.responseTimeQuantile,
      slowMs: q.slowRequestsThreshold,
    });
    return { period: isoPeriod(period), metrics: periodMetrics(groups.get('0') ?? EMPTY_AGGREGATE, period) };
  }

  /**
   * The series answer as JSON bytes (the shape of `SeriesBody`), written without an object per
   * bucket: see `seriesJson`.
   */
  async series(workloadId: string, metricName: string, rawQuery: unknown): Promise<Buffer | DomainError> {
    if (!isMetricName(metricName)) {
      return domainError('not_found', 'METRIC_NOT_FOUND', `unknown metric '${metricName}'; known: ${METRIC_NAMES.join(', ')}`);
    }
    const id = parseInput(WorkloadIdParam, workloadId, 'path');
    if (isDomainError(id)) return id;
    const q = parseInput(SeriesQuery, rawQuery, 'query');
    if (isDomainError(q)) return q;
    const period = resolvePeriod(q.startTime, q.endTime, this.now());
    if (isDomainError(period)) return period;
    if (bucketCount(period, q.resolution) > MAX_BUCKETS) {
      return domainError('validation', 'TOO_MANY_BUCKETS', `more than ${MAX_BUCKETS} buckets: use a coarser resolution or a shorter period`, ['query', 'resolution']);
    }
    const bounds = bucketBounds(period, q.resolution);
    const n = Math.max(0, bounds.length - 1);
    const step = stepMs(q.resolution);
    const grouping = step !== null ? { by: 'step' as const, originMs: period.startMs, stepMs: step } : { by: 'bounds' as const, bounds: bounds.slice(0, n) };
    const c = await this.repository.aggregateBuckets({ workloadIds: [id], protonId: q.protonId, period }, grouping, {
      quantile: q.responseTimeQuantile,
      slowMs: q.slowRequestsThreshold,
      measures: METRIC_MEASURES[metricName],
    }, n);
    // One scratch aggregate and bucket, so bucketValue stays the one rule without an object per bucket.
    const a: Aggregate = { ...EMPTY_AGGREGATE };
    const bucket: Period = { startMs: 0, endMs: 0 };
    const values = new Array<number | null>(n);
    for (let i = 0; i < n; i++) {
      a.total = c.total[i];
      a.slow = c.slow[i];
      a.userErrors = c.userErrors[i];
      a.serverErrors = c.serverErrors[i];
      a.responseTime = Number.isNaN(c.responseTime[i]) ? null : c.responseTime[i];
      a.peak = c.peak[i];
      bucket.startMs = bounds[i];
      bucket.endMs = bounds[i + 1];
      values[i] = bucketValue(metricName, a, bucket);
    }
    return seriesJson({ metric: metricName, protonId: q.protonId ?? null, period: isoPeriod(period) }, bounds, values);
  }

  /** Records a reset; from now on the records it covers that arrived at or before `resetAt` are excluded. */
  async reset(workloadId: string, rawBody: unknown): Promise<{ workloadId: string; protonId: string | null; startTime: string | null; endTime: string | null; resetAt: string } | DomainError> {
    const id = parseInput(WorkloadIdParam, workloadId, 'path');
    if (isDomainError(id)) return id;
    const b = parseInput(ResetBody, rawBody, 'body');
    if (isDomainError(b)) return b;
    if (b.startTime !== undefined && b.endTime !== undefined && b.startTime > b.endTime) {
      return domainError('bad_request', 'INVALID_PERIOD', 'startTime must not be after endTime');
    }
    await this.repository.addReset({ workloadId: id, protonId: b.protonId, windowStartMs: b.startTime, windowEndMs: b.endTime, resetAtMs: b.resetAt });
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return { workloadId: id, protonId: b.protonId ?? null, startTime: iso(b.startTime), endTime: iso(b.endTime), resetAt: new Date(b.resetAt).toISOString() };
  }

  /** The GET /workloads/stats body over the given (already visibility-filtered) workloads. */
  async summary(rawBody: unknown): Promise<SummaryStats | DomainError> {
    const b = parseInput(SummaryBody, rawBody, 'body');
    if (isDomainError(b)) return b;
    const period = resolvePeriod(b.startTime, b.endTime, this.now());
    if (isDomainError(period)) return period;
    const previous = previousPeriod(period);
    // One query over both periods: bucket 0 = previous, bucket 1 = current.
    const groups = await this.repository.aggregate(
      { workloadIds: b.workloadIds, period: { startMs: previous.startMs, endMs: period.endMs } },
      { by: 'bounds', bounds: [previous.startMs, period.startMs] },
      { quantile: b.responseTimeQuantile, measures: ['errors', 'quantile', 'peak'] },
    );
    const prev = groups.get('0') ?? EMPTY_AGGREGATE;
    const cur = groups.get('1') ?? EMPTY_AGGREGATE;
    const failed = (a: Aggregate) => a.userErrors + a.serverErrors;
    const errorPercent = (a: Aggregate) => (a.total === 0 ? 0 : (failed(a) / a.total) * 100);
    const hadData = prev.total > 0;
    return {
      workloads: { total: new Set(b.workloadIds).size, active: new Set(b.activeWorkloadIds).size },
      requests: { total: cur.total, succeeded: cur.total - failed(cur), failed: failed(cur), trend: trend(cur.total, prev.total, hadData) },
      errorRate: { rate: errorPercent(cur), trend: trend(errorPercent(cur), errorPercent(prev), hadData) },
      responseTime: { millis: cur.responseTime ?? 0, trend: trend(cur.responseTime ?? 0, prev.responseTime ?? 0, hadData) },
      concurrentRequests: { count: cur.peak, trend: trend(cur.peak, prev.peak, hadData) },
    };
  }

  /** `requestStats` of each workload for the default period (serviceStats=true). */
  async requestStats(rawBody: unknown): Promise<Record<string, RequestStats> | DomainError> {
    const b = parseInput(RequestStatsBody, rawBody, 'body');
    if (isDomainError(b)) return b;
    const period = resolvePeriod(undefined, undefined, this.now()) as Period;
    const groups = await this.repository.aggregate({ workloadIds: b.workloadIds, period }, { by: 'workload' }, { quantile: 0.5 });
    const out: Record<string, RequestStats> = {};
    for (const id of b.workloadIds) {
      const a = groups.get(id) ?? EMPTY_AGGREGATE;
      out[id] = {
        totalRequests: a.total,
        errorRate: a.total === 0 ? null : (a.userErrors + a.serverErrors) / a.total,
        responseTime: a.total === 0 ? null : a.responseTime,
        concurrentRequests: a.peak,
        lastRequestAt: a.lastMs === null ? null : new Date(a.lastMs).toISOString(),
      };
    }
    return out;
  }

  async healthy(): Promise<boolean> {
    return this.repository.ping().catch(() => false);
  }
}
