import { bucketValue, EMPTY_AGGREGATE, periodMetrics, trend } from './stats-metrics';

const p = { startMs: 0, endMs: 10 * 60_000 };
const a = { total: 20, slow: 3, userErrors: 2, serverErrors: 3, responseTime: 12.5, peak: 4, lastMs: 5 };

it('period metrics: per-minute rate, ratios in 0..1', () => {
  expect(periodMetrics(a, p)).toEqual({
    totalRequests: 20, requestsPerMinute: 2, concurrentRequests: 4, responseTime: 12.5, slowRequests: 3,
    userErrors: 2, serverErrors: 3, userErrorRate: 0.1, serverErrorRate: 0.15, totalErrorRate: 0.25,
  });
});

it('without requests: counts 0, quantile and rates null; an empty period has rate 0', () => {
  expect(periodMetrics(EMPTY_AGGREGATE, { startMs: 0, endMs: 0 })).toEqual({
    totalRequests: 0, requestsPerMinute: 0, concurrentRequests: 0, responseTime: null, slowRequests: 0,
    userErrors: 0, serverErrors: 0, userErrorRate: null, serverErrorRate: null, totalErrorRate: null,
  });
});

it('bucket values: counts 0 and the rest null in an empty bucket', () => {
  expect(['totalRequests', 'requestsOverN', 'requestsPerMinute', 'concurrentRequests', 'responseTime', 'totalErrorRate'].map((m) => bucketValue(m as never, EMPTY_AGGREGATE, p))).toEqual([0, 0, 0, 0, null, null]);
  expect(bucketValue('requestsPerMinute', a, { startMs: 0, endMs: 30_000 })).toBe(40);
  expect(bucketValue('totalErrorRate', a, p)).toBe(0.25);
});

it('trend: relative change, 0 without previous data or from 0', () => {
  expect(trend(15, 10, true)).toBe(0.5);
  expect(trend(5, 10, true)).toBe(-0.5);
  expect(trend(5, 0, true)).toBe(0);
  expect(trend(5, 10, false)).toBe(0);
});
