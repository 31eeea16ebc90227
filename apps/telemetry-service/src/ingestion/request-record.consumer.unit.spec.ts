import type { BusMessage, MessageBus } from '@wcp/messaging';
import { BatchedWriter } from '../clickhouse/batched.writer';
import { RequestRecordConsumer } from './request-record.consumer';
import { REQUEST_COLUMNS, type RequestRow } from './request-row';

const valid = (id: string) => ({
  type: 'request.record', schemaVersion: 1, id, workloadId: 'a'.repeat(24), protonId: 'p', replica: 'r', method: 'GET', path: '/',
  status: 200, startedAt: '2026-03-01T00:00:00.000Z', durationMs: 1.5, bytesIn: 1, bytesOut: 2,
});
const msg = (value: unknown, offset: number): BusMessage => ({ topic: 't', key: 'k', value, headers: {}, partition: 0, offset: String(offset), timestamp: 0 });

function setup(insert: (rows: RequestRow[]) => Promise<void>) {
  const writer = new BatchedWriter(insert, { flushSize: 100, flushIntervalMs: 10 });
  return new RequestRecordConsumer({} as MessageBus, writer, { groupId: 'g', now: () => Date.parse('2026-03-02T00:00:00.000Z') });
}

it('acknowledges valid records once written and dead-letters malformed ones', async () => {
  const written: RequestRow[] = [];
  const consumer = setup(async (rows) => void written.push(...rows));
  const outcomes = await consumer.handleBatch([msg(valid('a'), 0), msg({ ...valid('b'), status: 'x' }, 1), msg(valid('c'), 2)]);
  expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'dead-letter', 'ok']);
  expect(outcomes[1]).toMatchObject({ reason: expect.stringContaining('status') });
  const field = (row: RequestRow, column: (typeof REQUEST_COLUMNS)[number]) => row.split('\t')[REQUEST_COLUMNS.indexOf(column)];
  expect(written.map((r) => [field(r, 'id'), field(r, 'started_at'), field(r, 'arrived_at')])).toEqual([
    ['a', '2026-03-01 00:00:00.000', '2026-03-02 00:00:00.000'],
    ['c', '2026-03-01 00:00:00.000', '2026-03-02 00:00:00.000'],
  ]);
});

it('asks for a retry of the valid records when the write fails, keeping dead-letters', async () => {
  const consumer = setup(async () => {
    throw new Error('clickhouse down');
  });
  const outcomes = await consumer.handleBatch([msg({}, 0), msg(valid('a'), 1)]);
  expect(outcomes).toEqual([
    { kind: 'dead-letter', reason: expect.any(String) },
    { kind: 'retry', reason: 'clickhouse write failed: clickhouse down' },
  ]);
});
