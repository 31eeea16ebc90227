import type { ClickHouseClient } from '@clickhouse/client';
import { Topics } from '@wcp/contracts';
import { InProcessBus, type BusMessage } from '@wcp/messaging';
import { BatchedWriter } from '../clickhouse/batched.writer';
import { createClickHouseClient } from '../clickhouse/clickhouse.client';
import { migrate } from '../clickhouse/schema.migrator';
import { createTelemetryService, insertRequests } from '../index';
import { refAggregate, refDedup, refSelect, seeded, type RefRecord } from '../testing/stats-reference';
import { getJson, testConfig, toMessage, waitFor, workloadId } from '../testing/telemetry-test-env';
import { RequestRecordConsumer } from './request-record.consumer';
import { parseRequestRecord, type RequestRow } from './request-row';

/**
 * Ingestion guarantees on the real engine: malformed records are dead-lettered without blocking,
 * a crash in the middle of a batch (after a partial flush) followed by redelivery neither loses
 * nor double-counts, migrations are idempotent.
 */
const DB = 'ingestion_int';
const config = testConfig(DB, { FLUSH_SIZE: '200' });
const T0 = Date.UTC(2026, 4, 1);
const iso = (ms: number) => new Date(ms).toISOString();
let client: ClickHouseClient;

function records(workload: string, n: number, seed: number): RefRecord[] {
  const rand = seeded(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `${workload}-${i}`,
    workloadId: workload,
    protonId: i % 2 ? 'a' : 'b',
    status: [200, 404, 500][i % 3],
    startedMs: T0 + Math.floor(rand() * 3600) * 1000,
    durationMs: Math.floor(rand() * 4000),
    arrivedMs: 0,
  }));
}

async function rawCount(workload: string, final: boolean): Promise<number> {
  const rs = await client.query({
    query: `SELECT count() AS c FROM ${DB}.requests ${final ? 'FINAL' : ''} WHERE workload_id = {w:String}`,
    query_params: { w: workload },
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ c: number }>())[0].c);
}

async function statsOf(url: string, workload: string) {
  const { body } = await getJson<{ metrics: Record<string, number | null> }>(
    `${url}/internal/workloads/${workload}/stats?startTime=${iso(T0)}&endTime=${iso(T0 + 2 * 3600_000)}&responseTimeQuantile=0.9`,
  );
  return body.metrics;
}

function expectedMetrics(recs: RefRecord[]) {
  const sel = refSelect(refDedup(recs), [], { workloadIds: [recs[0].workloadId], startMs: T0, endMs: T0 + 2 * 3600_000 });
  const a = refAggregate(sel, 0.9, 2000);
  return { totalRequests: a.total, responseTime: a.responseTime, concurrentRequests: a.peak, slowRequests: a.slow, userErrors: a.userErrors, serverErrors: a.serverErrors };
}

beforeAll(async () => {
  client = createClickHouseClient(config.clickhouse);
  await migrate(client, DB);
});

afterAll(async () => {
  await client?.close();
});

it('migrations are tracked and idempotent', async () => {
  expect(await migrate(client, DB)).toEqual([]);
  const rs = await client.query({ query: `SELECT id FROM ${DB}.schema_migrations FINAL ORDER BY id`, format: 'JSONEachRow' });
  expect((await rs.json<{ id: string }>()).map((r) => r.id)).toEqual(['001-requests', '002-stats-resets', '003-logs', '004-requests-settle']);
  await client.command({ query: `DROP DATABASE IF EXISTS ingestion_fresh` });
  expect(await migrate(client, 'ingestion_fresh')).toEqual(['001-requests', '002-stats-resets', '003-logs', '004-requests-settle']);
  expect(await migrate(client, 'ingestion_fresh')).toEqual([]);
});

it('dead-letters malformed records with a reason and keeps ingesting the rest', async () => {
  const bus = new InProcessBus();
  const service = await createTelemetryService({ bus, config });
  const dlq: BusMessage[] = [];
  const sub = await bus.subscribe({ topic: Topics.requestsDeadLetter, groupId: 'dlq-watch', fromBeginning: true, handleBatch: async (m) => (dlq.push(...m), m.map(() => ({ kind: 'ok' as const }))) });
  try {
    const w = workloadId();
    const good = records(w, 50, 1);
    await bus.publish(Topics.requests, [
      { key: w, value: { not: 'a record' } },
      ...good.slice(0, 25).map((r) => ({ key: w, value: toMessage(r) })),
      { key: w, value: toMessage(good[0], { startedAt: 'yesterday' }) },
      { key: w, value: toMessage(good[0], { startedAt: '2400-01-01T00:00:00.000Z' }) },
      { key: w, value: { $unparseable: '{oops' } },
      ...good.slice(25).map((r) => ({ key: w, value: toMessage(r) })),
    ]);
    await waitFor(async () => (await statsOf(service.url, w)).totalRequests === 50 && dlq.length === 4, 30_000, 'ingestion and DLQ');
    expect(await statsOf(service.url, w)).toMatchObject(expectedMetrics(good));
    expect(dlq.map((m) => m.headers['x-dead-letter-reason'])).toEqual([
      expect.stringMatching(/^invalid request record: /),
      expect.stringMatching(/startedAt/),
      expect.stringMatching(/startedAt .* out of range/),
      expect.stringMatching(/^invalid request record: /),
    ]);
  } finally {
    await sub.stop();
    await service.close();
    await bus.close();
  }
});

it('a crash mid-batch after a partial flush, then a restart with redelivery, keeps totals exact', async () => {
  const bus = new InProcessBus();
  const w = workloadId();
  const recs = records(w, 3000, 7);
  // The producer also published some records twice (at-least-once upstream).
  const published = [...recs, ...recs.filter((_, i) => i % 10 === 0)];
  await bus.publish(Topics.requests, published.map((r) => ({ key: w, value: toMessage(r) })));

  // First process: its 2nd insert writes half its rows then fails (handler-level error → the bus
  // retries the batch); its 6th insert writes half, then the process stops before acknowledging.
  const insert = insertRequests(client, DB);
  let calls = 0;
  let stopped: Promise<void> | null = null;
  const writer = new BatchedWriter(async (rows: RequestRow[]) => {
    calls += 1;
    if (calls === 2 || calls === 6) {
      await insert(rows.slice(0, Math.floor(rows.length / 2)));
      if (calls === 6) stopped = consumer.stop();
      throw new Error(`simulated crash in insert #${calls}`);
    }
    await insert(rows);
  }, config.writer);
  const consumer = new RequestRecordConsumer(bus, writer, { groupId: config.groupId, now: Date.now });
  await consumer.start();
  await waitFor(async () => stopped !== null, 30_000, 'the simulated crash');
  await stopped;
  await writer.close();
  const partial = await rawCount(w, true);
  expect(partial).toBeGreaterThan(0);
  expect(partial).toBeLessThan(3000);

  // Restart: a fresh service on the same data; the group re-reads what was not acknowledged
  // (and, since the in-process group was dropped, everything still retained: more duplicates).
  const service = await createTelemetryService({ bus, config });
  try {
    await waitFor(async () => (await rawCount(w, true)) === 3000, 30_000, 'redelivery');
    await new Promise((r) => setTimeout(r, 200)); // let any trailing redelivery land too
    expect(await rawCount(w, false)).toBeGreaterThan(3000); // duplicates physically exist...
    expect(await statsOf(service.url, w)).toMatchObject(expectedMetrics(recs)); // ...and count once
    await client.command({ query: `OPTIMIZE TABLE ${DB}.requests FINAL` });
    expect(await rawCount(w, false)).toBe(3000); // a merge removes them for good
    expect(await statsOf(service.url, w)).toMatchObject(expectedMetrics(recs));
  } finally {
    await service.close();
    await bus.close();
  }
});

it('close() flushes what the writer holds (graceful shutdown)', async () => {
  const bus = new InProcessBus();
  // A long interval and a large size: only close() can flush these rows.
  const service = await createTelemetryService({ bus, config: testConfig(DB, { FLUSH_SIZE: '100000', FLUSH_INTERVAL_MS: '600000' }) });
  const writer = new BatchedWriter(insertRequests(client, DB), { flushSize: 100_000, flushIntervalMs: 600_000 });
  const w = workloadId();
  const recs = records(w, 20, 3);
  const pending = writer.write(recs.map((r) => toRow(r)));
  await writer.close();
  await pending;
  expect(await rawCount(w, true)).toBe(20);
  // Trailing slashes answer too.
  expect((await getJson(`${service.url}/internal/health/`)).body).toEqual({ status: 'ok', components: { clickhouse: true } });
  await service.close();
  await bus.close();
});

function toRow(r: RefRecord): RequestRow {
  const parsed = parseRequestRecord(toMessage(r, { replica: 'x', method: 'GET', path: '/', bytesIn: 0, bytesOut: 0 }), Date.now());
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.row;
}
