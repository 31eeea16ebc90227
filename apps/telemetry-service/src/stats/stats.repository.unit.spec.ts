import { aggregateQuery, type Selection } from './stats.repository';

const W = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const sel: Selection = { workloadIds: [W], protonId: 'p1', period: { startMs: 1_000_123, endMs: 2_000_456 } };

describe('aggregateQuery', () => {
  it('every value travels as a server-side parameter, never in the SQL text', () => {
    const q = aggregateQuery('db', sel, { by: 'bounds', bounds: [1_000_123, 1_500_789] }, { quantile: 0.25, slowMs: 1234 });
    for (const literal of [W, 'p1', '1000123', '2000456', '1500789', '0.25', '1234']) expect(q.query).not.toContain(literal);
    expect(q.query_params).toMatchObject({ workload_ids: [W], proton_id: 'p1', all_protons: 0, start_ms: 1_000_123, end_ms: 2_000_456, g_bounds: [1_000_123, 1_500_789], q: 0.25, slow_ms: 1234 });
  });
  it('the per-row reset test sits behind a constant `empty(resets)`, so a workload without an applicable reset never evaluates it', () => {
    const q = aggregateQuery('db', sel, { by: 'all' }, {});
    expect(q.query).toMatch(/\(empty\(resets\) OR NOT arrayExists\(/);
    // Only resets that can match reach the array: proton and window are filtered in the subquery.
    expect(q.query).toMatch(/proton_id = '' OR proton_id = \{proton_id:String\}/);
    expect(q.query).toMatch(/window_start < fromUnixTimestamp64Milli\(\{end_ms:Int64\}/);
    expect(q.query).toMatch(/window_end > fromUnixTimestamp64Milli\(\{start_ms:Int64\}/);
  });
  it('without a reset to apply, the query reads no `stats_resets` and tests no row against it', () => {
    const q = aggregateQuery('db', sel, { by: 'all' }, {}, false);
    expect(q.query).not.toMatch(/stats_resets|resets|arrayExists/);
    expect(q.query).toMatch(/FROM db\.requests FINAL/);
  });
  it('a series computes only the measures it asks for', () => {
    const q = aggregateQuery('db', sel, { by: 'step', originMs: 1000, stepMs: 60_000 }, { quantile: 0.5, measures: ['peak'] });
    expect(q.query).toMatch(/maxIntersections/);
    expect(q.query).not.toMatch(/quantileExactInclusive|countIf/);
    expect(q.query_params).not.toHaveProperty('q');
  });
});
