import { logsTtlExpression, ttlDaysOf } from './logs.retention';

it('reads back the days of the TTL it writes, as ClickHouse prints the table', () => {
  const engine = (days: number) =>
    `ReplacingMergeTree PARTITION BY toDate(timestamp) ORDER BY (workload_id, timestamp, seq, id) TTL ${logsTtlExpression(days)} SETTINGS ttl_only_drop_parts = 1, index_granularity = 8192`;
  expect(ttlDaysOf(engine(7))).toBe(7);
  expect(ttlDaysOf(engine(365))).toBe(365);
});

it('finds no TTL of ours on a table without one or with another expression', () => {
  expect(ttlDaysOf('ReplacingMergeTree ORDER BY (workload_id, timestamp, seq, id) SETTINGS index_granularity = 8192')).toBeNull();
  expect(ttlDaysOf('MergeTree ORDER BY id TTL toDateTime(timestamp) + toIntervalHour(7)')).toBeNull();
});

it('refuses days that are not a positive integer (they are written into DDL)', () => {
  expect(() => logsTtlExpression(0)).toThrow();
  expect(() => logsTtlExpression(1.5)).toThrow();
  expect(() => logsTtlExpression(Number.NaN)).toThrow();
});
