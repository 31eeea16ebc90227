import { countQuery, pageQuery, type LogFilter } from './logs.repository';

const W = 'b'.repeat(24);
const filter = (over: Partial<LogFilter> = {}): LogFilter => ({ workloadId: W, protonId: null, minLevel: null, startMs: null, endMs: null, ...over });

it('carries every value as a server-side parameter, never in the SQL text', () => {
  const hostile = `x' OR 1=1 --`;
  const q = pageQuery('telemetry', filter({ protonId: hostile, minLevel: 'error', startMs: 1_000, endMs: 2_000 }), { offset: 40, limit: 20 });
  expect(q.query).not.toContain(hostile);
  expect(q.query).not.toContain(W);
  expect(q.query_params).toEqual({ workload_id: W, all_protons: 0, proton_id: hostile, min_level: 'error', start_ms: 1_000, end_ms: 2_000, offset: 40, limit: 20 });
  expect(countQuery('telemetry', filter({ protonId: hostile })).query_params).toMatchObject({ proton_id: hostile, all_protons: 0 });
});

it('turns absent filters into their widest value, and clamps bounds to what can be stored', () => {
  const wide = { workload_id: W, all_protons: 1, proton_id: '', min_level: 'debug', start_ms: Date.UTC(1970, 0, 1), end_ms: Date.UTC(2106, 0, 1) };
  expect(countQuery('telemetry', filter()).query_params).toEqual(wide);
  expect(countQuery('telemetry', filter({ startMs: Date.UTC(1000, 0, 1), endMs: Date.UTC(9999, 0, 1) })).query_params).toEqual(wide);
});

it('pages after one copy per id, newest first with a total order', () => {
  const { query } = pageQuery('db1', filter(), { offset: 0, limit: 1 });
  expect(query).toContain('FROM db1.logs');
  expect(query.replace(/\s+/g, ' ')).toContain('ORDER BY timestamp DESC, seq DESC, id DESC LIMIT 1 BY id LIMIT {limit:UInt32} OFFSET {offset:UInt64}');
  expect(countQuery('db1', filter()).query).toContain('uniqExact(id)');
});
