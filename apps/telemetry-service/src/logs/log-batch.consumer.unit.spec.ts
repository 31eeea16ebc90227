import type { BusMessage, MessageBus } from '@wcp/messaging';
import { BatchedWriter } from '../clickhouse/batched.writer';
import { LogBatchConsumer } from './log-batch.consumer';
import type { LogRow } from './log-row';

const batch = (ids: string[]) => ({
  type: 'log.batch', schemaVersion: 1, workloadId: 'a'.repeat(24), protonId: 'p', replica: 'r', container: 'main',
  lines: ids.map((id) => ({ id, timestamp: '2026-03-01T00:00:00.000Z', stream: 'stdout', level: 'info', message: id, truncated: false })),
});
const msg = (value: unknown, offset: number): BusMessage => ({ topic: 't', key: 'k', value, headers: {}, partition: 0, offset: String(offset), timestamp: 0 });

function setup(insert: (rows: LogRow[]) => Promise<void>) {
  const writer = new BatchedWriter(insert, { flushSize: 100, flushIntervalMs: 10 });
  return new LogBatchConsumer({} as MessageBus, writer, { groupId: 'g' });
}

it('acknowledges valid batches once all their lines are written and dead-letters unreadable ones', async () => {
  const written: LogRow[] = [];
  const consumer = setup(async (rows) => void written.push(...rows));
  const outcomes = await consumer.handleBatch([msg(batch(['a:0', 'a:5']), 0), msg({ ...batch(['b:0']), lines: [] }, 1), msg(batch(['c:9']), 2)]);
  expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'dead-letter', 'ok']);
  expect(outcomes[1]).toMatchObject({ reason: expect.stringContaining('lines') });
  expect(written.map((r) => [r.id, r.seq])).toEqual([['a:0', 0], ['a:5', 5], ['c:9', 9]]);
});

it('asks for a retry of the valid batches when the write fails, keeping dead-letters', async () => {
  const consumer = setup(async () => {
    throw new Error('clickhouse down');
  });
  const outcomes = await consumer.handleBatch([msg({}, 0), msg(batch(['a:0']), 1)]);
  expect(outcomes).toEqual([
    { kind: 'dead-letter', reason: expect.any(String) },
    { kind: 'retry', reason: 'clickhouse write failed: clickhouse down' },
  ]);
});
