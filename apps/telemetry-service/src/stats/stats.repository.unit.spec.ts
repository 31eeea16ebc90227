import { aggregateQuery, applicableResets, type ResetTuple, type Selection } from './stats.repository';

const W = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const W2 = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const FAR = 9_000_000_000_000_000;
const sel = (over: Partial<Selection> = {}): Selection => ({ workloadIds: [W], period: { startMs: 1000, endMs: 2000 }, ...over });

describe('applicableResets: only resets that can exclude a selected record reach the query', () => {
  const workloadWide: ResetTuple = [W, '', -FAR, FAR, 5];
  it('keeps a workload-wide reset and drops other workloads', () => {
    expect(applicableResets([workloadWide, [W2, '', -FAR, FAR, 5]], sel())).toEqual([workloadWide]);
  });
  it('a proton reset applies to that proton and to "all protons", not to another proton', () => {
    const p1: ResetTuple = [W, 'p1', -FAR, FAR, 5];
    expect(applicableResets([p1], sel())).toEqual([p1]);
    expect(applicableResets([p1], sel({ protonId: 'p1' }))).toEqual([p1]);
    expect(applicableResets([p1], sel({ protonId: 'p2' }))).toEqual([]);
    expect(applicableResets([workloadWide], sel({ protonId: 'p2' }))).toEqual([workloadWide]);
  });
  it('a window applies when it overlaps the half-open period', () => {
    const at = (ws: number, we: number): ResetTuple => [W, '', ws, we, 5];
    expect(applicableResets([at(0, 1000)], sel())).toEqual([]); // ends where the period starts
    expect(applicableResets([at(2000, 3000)], sel())).toEqual([]); // starts where the period ends
    expect(applicableResets([at(0, 1001), at(1999, 3000), at(1200, 1300)], sel())).toHaveLength(3);
  });
});

describe('aggregateQuery', () => {
  it('a selection without applicable resets carries no reset filter', () => {
    const q = aggregateQuery('db', sel(), { by: 'all' }, { quantile: 0.5, slowMs: 2000 });
    expect(q.query).not.toMatch(/arrayExists|r_workload/);
    expect(Object.keys(q.query_params)).not.toContain('r_at');
  });
  it('applicable resets travel as parameters, never in the SQL text', () => {
    const q = aggregateQuery('db', sel(), { by: 'all' }, {}, [[W, 'p1', 1, 2, 7], [W, '', -FAR, FAR, 9]]);
    expect(q.query).toMatch(/arrayExists/);
    expect(q.query).not.toContain(W);
    expect(q.query_params).toMatchObject({ r_workload: [W, W], r_proton: ['p1', ''], r_start: [1, -FAR], r_end: [2, FAR], r_at: [7, 9], max_reset_ms: 9 });
  });
  it('a series computes only the measures it asks for', () => {
    const q = aggregateQuery('db', sel(), { by: 'step', originMs: 1000, stepMs: 60_000 }, { quantile: 0.5, measures: ['peak'] });
    expect(q.query).toMatch(/maxIntersections/);
    expect(q.query).not.toMatch(/quantileExactInclusive|countIf/);
    expect(q.query_params).not.toHaveProperty('q');
  });
});
