import { refSearch, type RefLine } from '../testing/logs-reference';

/** The oracle itself, on lines small enough to check by hand. */
const W = 'd'.repeat(24);
const line = (id: string, timestampMs: number, level: RefLine['level'] = 'info', protonId = 'p'): RefLine => ({
  workloadId: W, protonId, replica: 'r', container: 'main', id, timestampMs, stream: 'stdout', level, message: id, truncated: false,
});
const q = { workloadId: W, protonId: null, level: null, startMs: null, endMs: null, offset: 0, limit: 10 };
const ids = (r: ReturnType<typeof refSearch>) => r.data.map((d) => d.message);

it('orders newest first, then by byte offset, then by id, all descending', () => {
  const lines = [line('a:1:1:10', 5), line('a:1:1:20', 5), line('a:1:1:5', 9), line('b:1:1:20', 5), line('x', 5)];
  expect(ids(refSearch(lines, q))).toEqual(['a:1:1:5', 'b:1:1:20', 'a:1:1:20', 'a:1:1:10', 'x']);
});

it('shows each id once (its newest copy), filters by minimum level, proton and [start, end), then pages', () => {
  const lines = [line('a:1', 1, 'debug'), line('a:2', 2, 'warning'), line('a:2', 2, 'warning'), line('a:3', 3, 'critical', 'q'), line('a:2', 4, 'warning')];
  expect(refSearch(lines, q)).toMatchObject({ totalCount: 3, data: [{ message: 'a:2', timestamp: new Date(4).toISOString() }, { message: 'a:3' }, { message: 'a:1' }] });
  expect(ids(refSearch(lines, { ...q, level: 'warning' }))).toEqual(['a:2', 'a:3']);
  expect(ids(refSearch(lines, { ...q, protonId: 'q' }))).toEqual(['a:3']);
  expect(ids(refSearch(lines, { ...q, startMs: 1, endMs: 3 }))).toEqual(['a:2', 'a:1']);
  expect(refSearch(lines, { ...q, offset: 1, limit: 1 })).toMatchObject({ totalCount: 3, data: [{ message: 'a:3' }] });
});
