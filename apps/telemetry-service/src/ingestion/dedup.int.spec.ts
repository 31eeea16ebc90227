import type { ClickHouseClient } from '@clickhouse/client';
import { Topics } from '@wcp/contracts';
import { InProcessBus } from '@wcp/messaging';
import { createClickHouseClient } from '../clickhouse/clickhouse.client';
import { createTelemetryService, type TelemetryService } from '../index';
import { refAggregate, refDedup, refSelect, seeded, type RefRecord, type RefReset } from '../testing/stats-reference';
import { getJson, postJson, testConfig, toMessage, waitFor, workloadId } from '../testing/telemetry-test-env';

/**
 * Exactly-once effect under the dedup of issue 12 (FINAL that merges only where parts overlap,
 * quiet partitions settled into one part): overlapping and redelivered batches count once,
 * also when they land in a partition that had already settled into a single part and in
 * several monthly partitions at once; a reset followed by new records gives the exact numbers.
 */
const DB = 'dedup_int';
// Inserts of at most 100 rows: copies of a record land in different parts (one insert block
// would already collapse them on insert), so the reads below really depend on FINAL.
const config = testConfig(DB, { FLUSH_SIZE: '100' });
const MAY = Date.UTC(2026, 4, 31, 23); // the data spans May and June: two partitions
const iso = (ms: number) => new Date(ms).toISOString();
const PERIOD = { startMs: MAY, endMs: MAY + 2 * 3600_000 };
let clock = Date.UTC(2026, 5, 2);
let bus: InProcessBus;
let service: TelemetryService;
let client: ClickHouseClient;
let sentinels = 0;
const SENTINEL = workloadId();

function records(workload: string, n: number, seed: number): RefRecord[] {
  const rand = seeded(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `${workload}-${i}`,
    workloadId: workload,
    protonId: i % 2 ? 'a' : 'b',
    status: [200, 404, 500][i % 3],
    startedMs: MAY + Math.floor(rand() * 7200) * 1000,
    durationMs: rand() < 0.1 ? 0 : Math.floor(rand() * 4000),
    arrivedMs: 0,
  }));
}

/** Publishes in the given message groups, then waits until a sentinel published after them is stored (in order). */
async function deliver(groups: RefRecord[][], deliveries: RefRecord[]): Promise<void> {
  for (const group of groups) {
    for (const r of group) deliveries.push({ ...r, arrivedMs: clock });
    await bus.publish(Topics.requests, group.map((r) => ({ key: r.workloadId, value: toMessage(r) })));
  }
  sentinels += 1;
  const s: RefRecord = { id: `sentinel-${sentinels}`, workloadId: SENTINEL, protonId: 'a', status: 200, startedMs: MAY, durationMs: 1, arrivedMs: clock };
  await bus.publish(Topics.requests, [{ key: SENTINEL, value: toMessage(s) }]);
  await waitFor(async () => (await metrics(SENTINEL)).totalRequests === sentinels, 30_000, 'ingestion');
}

async function metrics(workload: string): Promise<Record<string, number | null>> {
  const { body } = await getJson<{ metrics: Record<string, number | null> }>(
    `${service.url}/internal/workloads/${workload}/stats?startTime=${iso(PERIOD.startMs)}&endTime=${iso(PERIOD.endMs)}&responseTimeQuantile=0.9`,
  );
  return body.metrics;
}

function expected(deliveries: RefRecord[], resets: RefReset[], workload: string) {
  const a = refAggregate(refSelect(refDedup(deliveries), resets, { workloadIds: [workload], ...PERIOD }), 0.9, 2000);
  return { totalRequests: a.total, responseTime: a.total === 0 ? null : a.responseTime, concurrentRequests: a.peak, slowRequests: a.slow, userErrors: a.userErrors, serverErrors: a.serverErrors };
}

async function partsPerPartition(): Promise<Record<string, number>> {
  const rs = await client.query({
    query: `SELECT partition, count() AS parts FROM system.parts WHERE database = {db:String} AND table = 'requests' AND active GROUP BY partition`,
    query_params: { db: DB },
    format: 'JSONEachRow',
  });
  return Object.fromEntries((await rs.json<{ partition: string; parts: number | string }>()).map((r) => [r.partition, Number(r.parts)]));
}

async function rawRows(workload: string): Promise<number> {
  const rs = await client.query({ query: `SELECT count() AS c FROM ${DB}.requests WHERE workload_id = {w:String}`, query_params: { w: workload }, format: 'JSONEachRow' });
  return Number((await rs.json<{ c: number | string }>())[0].c);
}

beforeAll(async () => {
  client = createClickHouseClient(config.clickhouse);
  await client.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  bus = new InProcessBus();
  service = await createTelemetryService({ bus, config, now: () => clock });
  // No background merge may collapse copies behind the test's back: parts change only when it says.
  await client.command({ query: `SYSTEM STOP MERGES ${DB}.requests` });
});

afterAll(async () => {
  await service?.close();
  await bus?.close();
  await client?.close();
});

it('overlapping and redelivered batches count once, before and after the partitions settle', async () => {
  const w = workloadId();
  const recs = records(w, 600, 5);
  const deliveries: RefRecord[] = [];
  // Overlapping batches: [0, 300), [200, 500), [100, 600), and one record published three times.
  await deliver([recs.slice(0, 300), recs.slice(200, 500), recs.slice(100, 600), [recs[7], recs[7]]], deliveries);
  expect(await rawRows(w)).toBeGreaterThan(600); // the copies are stored...
  expect(await metrics(w)).toEqual(expect.objectContaining(expected(deliveries, [], w))); // ...and count once
  expect((await metrics(w)).totalRequests).toBe(600);

  // Settle: one part per partition, the state migration 004 lets ClickHouse reach by itself.
  await client.command({ query: `SYSTEM START MERGES ${DB}.requests` });
  await client.command({ query: `OPTIMIZE TABLE ${DB}.requests FINAL` });
  await client.command({ query: `SYSTEM STOP MERGES ${DB}.requests` });
  expect(Object.values(await partsPerPartition()).every((n) => n === 1)).toBe(true);
  expect(await rawRows(w)).toBe(600);

  // Late redeliveries into both settled partitions: the partitions have several parts again,
  // FINAL merges them, every record still counts once.
  clock += 1000;
  await deliver([recs.filter((_, i) => i % 3 === 0), recs.slice(550)], deliveries);
  expect(Object.values(await partsPerPartition()).some((n) => n > 1)).toBe(true);
  expect(await rawRows(w)).toBeGreaterThan(600);
  expect(await metrics(w)).toEqual(expect.objectContaining(expected(deliveries, [], w)));
  expect((await metrics(w)).totalRequests).toBe(600);
});

it('a reset followed by new records and redeliveries gives the exact numbers', async () => {
  const w = workloadId();
  const before = records(w, 200, 9);
  const deliveries: RefRecord[] = [];
  const resets: RefReset[] = [];
  await deliver([before], deliveries);
  expect((await metrics(w)).totalRequests).toBe(200);

  clock += 1000;
  const { status } = await postJson(`${service.url}/internal/workloads/${w}/stats/reset`, { resetAt: iso(clock) });
  expect(status).toBe(200);
  resets.push({ workloadId: w, resetAtMs: clock });
  expect(await metrics(w)).toEqual(expect.objectContaining({ totalRequests: 0, concurrentRequests: 0, responseTime: null }));

  // After the reset: 50 new records count, the redelivered old ones stay excluded (earliest arrival wins).
  clock += 1000;
  const after = records(w, 250, 10).slice(200).map((r, i) => ({ ...r, id: `${w}-new-${i}` }));
  await deliver([after, before.slice(0, 100)], deliveries);
  const want = expected(deliveries, resets, w);
  expect(want.totalRequests).toBe(50);
  expect(await metrics(w)).toEqual(expect.objectContaining(want));

  // A workload without a reset is untouched by this one.
  const other = workloadId();
  const otherDeliveries: RefRecord[] = [];
  await deliver([records(other, 30, 11)], otherDeliveries);
  expect((await metrics(other)).totalRequests).toBe(30);
});
