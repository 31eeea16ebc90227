import type { ClickHouseClient } from '@clickhouse/client';
import { Topics, type LogBatch } from '@wcp/contracts';
import { InProcessBus, KafkaBus, type BusMessage, type MessageBus } from '@wcp/messaging';
import { createClickHouseClient } from '../clickhouse/clickhouse.client';
import { createTelemetryService, type LogPage, type TelemetryConfig } from '../index';
import { generateLines, refSearch, toBatches, type RefLine, type RefLogQuery } from '../testing/logs-reference';
import { postJson, testConfig, waitFor, workloadId } from '../testing/telemetry-test-env';
import { applyLogsTtl, ttlDaysOf } from './logs.retention';

/**
 * Replica logs on the real engine: ingestion through the in-process bus and through Kafka,
 * every search compared with a plain-array model (filters, one copy per id, newest first,
 * paging), redeliveries and re-reads shown once, unreadable batches dead-lettered without
 * blocking, lines surviving a restart, and the TTL following LOGS_TTL_DAYS.
 */
const DB = 'logs_int';
const config = testConfig(DB);
const DAY = 86_400_000;
/** Recent, so the 7-day TTL never drops a test line during the run. */
const BASE = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
let client: ClickHouseClient;

beforeAll(() => {
  client = createClickHouseClient(config.clickhouse);
});

afterAll(async () => {
  await client?.close();
});

const query = (w: string, over: Partial<RefLogQuery> = {}): RefLogQuery => ({
  workloadId: w, protonId: null, level: null, startMs: null, endMs: null, offset: 0, limit: 1000, ...over,
});

function search(url: string, q: RefLogQuery) {
  return postJson<LogPage>(`${url}/internal/logs/search`, {
    workloadId: q.workloadId,
    offset: q.offset,
    limit: q.limit,
    level: q.level,
    startTime: q.startMs === null ? null : iso(q.startMs),
    endTime: q.endMs === null ? null : iso(q.endMs),
    protonId: q.protonId,
  });
}

const totalOf = async (url: string, w: string) => (await search(url, query(w, { limit: 1 }))).body.totalCount;

/** Rows physically stored for the workload, copies included. */
async function rawCount(w: string): Promise<number> {
  const rs = await client.query({ query: `SELECT count() AS c FROM ${DB}.logs WHERE workload_id = {w:String}`, query_params: { w }, format: 'JSONEachRow' });
  return Number((await rs.json<{ c: number | string }>())[0].c);
}

async function engineFull(): Promise<string> {
  const rs = await client.query({ query: `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'logs'`, query_params: { db: DB }, format: 'JSONEachRow' });
  return (await rs.json<{ engine_full: string }>())[0].engine_full;
}

/** Filters, periods, protons and pages of one workload's lines spread over a few minutes. */
function queriesOf(w: string): RefLogQuery[] {
  const levels = [null, 'debug', 'info', 'warning', 'error', 'critical'] as const;
  return [
    ...levels.map((level) => query(w, { level })),
    query(w, { offset: 1000 }),
    query(w, { offset: 5000 }),
    query(w, { limit: 1 }),
    query(w, { startMs: BASE + 60_000 }),
    query(w, { endMs: BASE + 60_000 }),
    query(w, { startMs: BASE + 60_000, endMs: BASE + 120_000 }),
    query(w, { startMs: BASE + 60_000, endMs: BASE + 60_000 }),
    query(w, { protonId: 'p-a' }),
    query(w, { protonId: 'p-b', level: 'error', startMs: BASE + 30_000, endMs: BASE + 200_000, offset: 3, limit: 20 }),
    query(w, { protonId: 'nope' }),
    ...[0, 7, 14, 700].map((offset) => query(w, { level: 'info', offset, limit: 7 })),
  ];
}

/** Every query answers exactly what the model answers over the same deliveries. */
async function expectModel(url: string, deliveries: RefLine[], queries: RefLogQuery[]): Promise<void> {
  for (const q of queries) {
    const { status, body } = await search(url, q);
    expect({ q, status, body }).toEqual({ q, status: 200, body: refSearch(deliveries, q) });
  }
}

/** Pages of `size` concatenated: each line once, newest first, same-millisecond lines of a file in reverse file order. */
async function expectPagesInOrder(url: string, w: string, distinct: number, size: number): Promise<void> {
  const all: LogPage['data'] = [];
  for (let offset = 0; offset < distinct; offset += size) {
    const { body } = await search(url, query(w, { offset, limit: size }));
    expect(body.totalCount).toBe(distinct);
    all.push(...body.data);
  }
  expect(all).toHaveLength(distinct);
  expect(new Set(all.map((e) => e.message)).size).toBe(distinct);
  const lineNo = (message: string) => Number(/^line (\d+) of /.exec(message)?.[1]);
  const file = (message: string) => / of (\S+) /.exec(message)?.[1];
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1], all[i]];
    expect(Date.parse(a.timestamp)).toBeGreaterThanOrEqual(Date.parse(b.timestamp));
    if (a.timestamp === b.timestamp && file(a.message) === file(b.message)) expect(lineNo(a.message)).toBeGreaterThan(lineNo(b.message));
  }
}

/** A DLQ watcher on `bus`; returns the reasons seen so far. */
async function watchDeadLetters(bus: MessageBus, groupId: string) {
  const dlq: BusMessage[] = [];
  const sub = await bus.subscribe({
    topic: Topics.logsDeadLetter,
    groupId,
    fromBeginning: true,
    handleBatch: async (m) => (dlq.push(...m), m.map(() => ({ kind: 'ok' as const }))),
  });
  return { reasons: () => dlq.map((m) => m.headers['x-dead-letter-reason']), stop: () => sub.stop() };
}

/** A workload's lines and what the runtime publishes for them: some batches twice, one line re-read later. */
function scenario(n: number, seed: number) {
  const w = workloadId();
  const lines = generateLines(w, n, seed, BASE);
  const batches = toBatches(lines);
  const redelivered = batches.filter((_, i) => i % 4 === 1);
  // A shipper restart re-read one line (same id) and stamped it again a little later.
  const reread: RefLine = { ...lines[3], timestampMs: lines[3].timestampMs + 7 };
  const [rereadBatch] = toBatches([reread]);
  return { w, lines, batches, redelivered, reread, rereadBatch, deliveries: [...lines, ...redelivered.flatMap((b) => linesOf(b)), reread] };
}

function linesOf(batch: LogBatch): RefLine[] {
  return batch.lines.map((l) => ({
    workloadId: batch.workloadId, protonId: batch.protonId, replica: batch.replica, container: batch.container,
    id: l.id, timestampMs: Date.parse(l.timestamp), stream: l.stream, level: l.level, message: l.message, truncated: l.truncated,
  }));
}

const badBatches = (w: string, valid: LogBatch) => [
  { not: 'a log batch' },
  { ...valid, lines: [{ ...valid.lines[0], timestamp: '2200-01-01T00:00:00.000Z' }] },
  { ...valid, lines: [{ ...valid.lines[0], level: 'warn' }] },
  { ...valid, workloadId: `${w}-not-an-id` },
];
const BAD_REASONS = [
  expect.stringMatching(/^invalid log batch: /),
  expect.stringMatching(/^invalid log batch: lines\.0\.timestamp 2200-01-01T00:00:00\.000Z out of range$/),
  expect.stringMatching(/^invalid log batch: lines\.0\.level: /),
  expect.stringMatching(/^invalid log batch: workloadId: /),
];

/** Runs `fn` against a fresh service (and in-process bus) on `cfg`, then closes both. */
async function withService(cfg: TelemetryConfig, fn: (url: string, bus: MessageBus) => Promise<void>): Promise<void> {
  const bus = new InProcessBus();
  const service = await createTelemetryService({ bus, config: cfg });
  try {
    await fn(service.url, bus);
  } finally {
    await service.close();
    await bus.close();
  }
}

it('ingests through the in-process bus: searches equal the model, copies show once, unreadable batches are dead-lettered', async () => {
  const bus = new InProcessBus({ maxBatch: 25 });
  const service = await createTelemetryService({ bus, config });
  const dlq = await watchDeadLetters(bus, 'logs-dlq-watch');
  try {
    const s = scenario(2400, 1);
    const half = Math.floor(s.batches.length / 2);
    const publish = (values: unknown[]) => bus.publish(Topics.logs, values.map((value) => ({ key: s.w, value })));
    await publish(s.batches.slice(0, half));
    await publish(badBatches(s.w, s.batches[0]));
    await publish([...s.redelivered, s.rereadBatch]);
    // Last: one partition, in order, so once these land everything before them has.
    await publish(s.batches.slice(half));
    await waitFor(async () => (await totalOf(service.url, s.w)) === 2400 && dlq.reasons().length === 4, 30_000, 'ingestion and DLQ');

    expect(dlq.reasons()).toEqual(BAD_REASONS);
    expect(await rawCount(s.w)).toBeGreaterThan(2400); // copies are stored...
    await expectModel(service.url, s.deliveries, queriesOf(s.w)); // ...and shown once
    await expectPagesInOrder(service.url, s.w, 2400, 173);
    // The re-read copy is the newer one: shown at its new timestamp, once.
    const reread = (await search(service.url, query(s.w, { startMs: s.reread.timestampMs - 7, endMs: s.reread.timestampMs + 1 }))).body.data;
    expect(reread.filter((e) => e.message === s.reread.message)).toEqual([expect.objectContaining({ timestamp: iso(s.reread.timestampMs) })]);
  } finally {
    await dlq.stop();
    await service.close();
    await bus.close();
  }
});

it('lines survive a restart of the service on the same data directory and database', async () => {
  const s = scenario(500, 2);
  const queries = queriesOf(s.w);
  const bus1 = new InProcessBus();
  const first = await createTelemetryService({ bus: bus1, config });
  let before: Array<LogPage>;
  try {
    await bus1.publish(Topics.logs, [...s.batches, ...s.redelivered, s.rereadBatch].map((value) => ({ key: s.w, value })));
    await waitFor(async () => (await totalOf(first.url, s.w)) === 500, 30_000, 'first ingestion');
    await waitFor(async () => (await search(first.url, query(s.w, { startMs: s.reread.timestampMs, endMs: s.reread.timestampMs + 1 }))).body.data.some((e) => e.message === s.reread.message), 30_000, 'the re-read line');
    before = await Promise.all(queries.map(async (q) => (await search(first.url, q)).body));
  } finally {
    await first.close();
    await bus1.close();
  }
  // A fresh bus holds nothing: whatever the new service answers comes from ClickHouse.
  const bus2 = new InProcessBus();
  const second = await createTelemetryService({ bus: bus2, config });
  try {
    const after = await Promise.all(queries.map(async (q) => (await search(second.url, q)).body));
    expect(after).toEqual(before);
    expect(after[0].totalCount).toBe(500);
    await expectModel(second.url, s.deliveries, queries);
  } finally {
    await second.close();
    await bus2.close();
  }
});

it('LOGS_TTL_DAYS is applied at boot, only when it changed, and acts on lines already stored', async () => {
  const w = workloadId();
  const now = Date.now();
  const [old, recent] = generateLines(w, 2, 3, now).map((l, i) => ({ ...l, timestampMs: now - (i === 0 ? 10 * DAY : 3600_000) }));
  // 30 days: the 10-day-old line is kept, even through a merge.
  await withService(testConfig(DB, { LOGS_TTL_DAYS: '30' }), async (url, bus) => {
    expect(ttlDaysOf(await engineFull())).toBe(30);
    await bus.publish(Topics.logs, toBatches([old, recent]).map((value) => ({ key: w, value })));
    await waitFor(async () => (await totalOf(url, w)) === 2, 30_000, 'both lines');
    await client.command({ query: `OPTIMIZE TABLE ${DB}.logs FINAL` });
    expect(await totalOf(url, w)).toBe(2);
  });
  // Back to the default 7 days: the ALTER at boot re-evaluates the stored parts, the old line goes.
  await withService(config, async (url) => {
    expect(ttlDaysOf(await engineFull())).toBe(7);
    await waitFor(async () => {
      await client.command({ query: `OPTIMIZE TABLE ${DB}.logs FINAL` });
      return (await totalOf(url, w)) === 1;
    }, 30_000, 'the expired line to be dropped');
    expect((await search(url, query(w))).body.data).toEqual([expect.objectContaining({ message: recent.message, timestamp: iso(recent.timestampMs) })]);
    expect(await applyLogsTtl(client, DB, 7)).toBe(false);
  });
});

it('stores a batch whose lines span more days than one insert may touch by default (a wrong clock must not block the topic)', async () => {
  await withService(config, async (url, bus) => {
    const w = workloadId();
    const now = Date.now();
    // 150 daily partitions in one insert (ClickHouse refuses more than 100 unless told otherwise).
    const lines = generateLines(w, 150, 6, now).map((l, i) => ({ ...l, timestampMs: now + i * DAY }));
    await bus.publish(Topics.logs, toBatches(lines, 150).map((value) => ({ key: w, value })));
    await waitFor(async () => (await totalOf(url, w)) === 150, 30_000, 'the 150 lines');
    expect((await search(url, query(w, { limit: 1 }))).body.data[0].timestamp).toBe(iso(now + 149 * DAY));
  });
});

it('refuses malformed searches: validation (422) or bad_request (400), with the field', async () => {
  await withService(config, async (url) => {
    const w = workloadId();
    const refused: Array<[unknown, number, string, RegExp]> = [
      [{}, 422, 'INVALID_BODY', /^body\.workloadId: /],
      [{ workloadId: 'nope' }, 422, 'INVALID_BODY', /^body\.workloadId: /],
      [{ workloadId: w, limit: 0 }, 422, 'INVALID_BODY', /^body\.limit: /],
      [{ workloadId: w, limit: 1001 }, 422, 'INVALID_BODY', /^body\.limit: /],
      [{ workloadId: w, limit: 2.5 }, 422, 'INVALID_BODY', /^body\.limit: /],
      [{ workloadId: w, offset: -1 }, 422, 'INVALID_BODY', /^body\.offset: /],
      [{ workloadId: w, level: 'warn' }, 422, 'INVALID_BODY', /^body\.level: /],
      [{ workloadId: w, startTime: 'yesterday' }, 422, 'INVALID_BODY', /^body\.startTime: /],
      [{ workloadId: w, protonId: '' }, 422, 'INVALID_BODY', /^body\.protonId: /],
      [{ workloadId: w, since: 1 }, 422, 'INVALID_BODY', /unknown field\(s\): since/],
      [{ workloadId: w, startTime: iso(BASE + 1), endTime: iso(BASE) }, 400, 'INVALID_PERIOD', /startTime must not be after endTime/],
    ];
    for (const [body, status, code, message] of refused) {
      const res = await postJson<{ code: string; message: string }>(`${url}/internal/logs/search`, body);
      expect({ body, status: res.status, code: res.body.code, message: res.body.message }).toEqual({ body, status, code, message: expect.stringMatching(message) });
    }
    // Every field but workloadId has a default; a workload without lines is an empty page.
    expect(await postJson(`${url}/internal/logs/search`, { workloadId: w })).toEqual({ status: 200, body: { totalCount: 0, data: [] } });
  });
});

/**
 * The same over real Kafka. Runs only when KAFKA_BROKERS is set (infra/up.sh), and then FAILS,
 * never skips, if the brokers cannot be reached.
 */
const BROKERS = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
const describeKafka = BROKERS?.length ? describe : describe.skip;

describeKafka('log ingestion over Kafka', () => {
  const brokers = BROKERS ?? [];
  const runId = `${Date.now()}-${process.pid}`;
  /** A fresh namespace: the topics hold only this run's batches. */
  const namespace = `telemetry-logs-int-${runId}`;
  const topics = [
    { topic: Topics.logs, partitions: 3 },
    { topic: Topics.logsDeadLetter, partitions: 1 },
  ];

  beforeAll(async () => {
    const probe = new KafkaBus({ brokers, clientId: `telemetry-logs-int-probe-${runId}` });
    const reachable = await probe.ping();
    await probe.close();
    if (!reachable) throw new Error(`KAFKA_BROKERS=${brokers.join(',')} is set but unreachable`);
  }, 90_000);

  it('ingests, dead-letters, shows redeliveries once, and a group re-reading the topic adds nothing', async () => {
    const producer = new KafkaBus({ brokers, namespace, clientId: `telemetry-logs-int-producer-${runId}`, topics });
    await producer.ensureTopics();
    const dlq = await watchDeadLetters(producer, `telemetry-logs-int-dlq-${runId}`);
    const s = scenario(1200, 4);
    const publish = (values: unknown[]) => producer.publish(Topics.logs, values.map((value) => ({ key: s.w, value })));
    const cfg = testConfig(DB, { KAFKA_BROKERS: brokers.join(','), KAFKA_LOGS_GROUP_ID: `telemetry-logs-int-${runId}` });
    try {
      const bus1 = new KafkaBus({ brokers, namespace, clientId: `telemetry-logs-int-1-${runId}`, topics });
      const first = await createTelemetryService({ bus: bus1, config: cfg });
      try {
        const half = Math.floor(s.batches.length / 2);
        await publish(s.batches.slice(0, half));
        await publish(badBatches(s.w, s.batches[0]));
        await publish([...s.redelivered, s.rereadBatch]);
        // Same key, same partition, in order: once these land everything before them has.
        await publish(s.batches.slice(half));
        await waitFor(async () => (await totalOf(first.url, s.w)) === 1200 && dlq.reasons().length === 4, 60_000, 'ingestion and DLQ');
        expect(dlq.reasons()).toEqual(BAD_REASONS);
        await expectModel(first.url, s.deliveries, queriesOf(s.w));
      } finally {
        await first.close();
        await bus1.close();
      }
      // A new group reads the whole topic again: every batch is delivered a second time.
      const bus2 = new KafkaBus({ brokers, namespace, clientId: `telemetry-logs-int-2-${runId}`, topics });
      const second = await createTelemetryService({ bus: bus2, config: { ...cfg, logs: { ...cfg.logs, groupId: `telemetry-logs-int-${runId}-b` } } });
      try {
        const [sentinel] = generateLines(s.w, 1, 5, BASE + 3600_000).map((l) => ({ ...l, id: `sentinel:stdout:1:0`, message: 'sentinel' }));
        await publish(toBatches([sentinel]));
        await waitFor(async () => (await totalOf(second.url, s.w)) === 1201, 60_000, 'the re-read up to the sentinel');
        await expectModel(second.url, [...s.deliveries, ...s.deliveries, sentinel], queriesOf(s.w));
        await expectPagesInOrder(second.url, s.w, 1201, 250);
      } finally {
        await second.close();
        await bus2.close();
      }
    } finally {
      await dlq.stop();
      await producer.close();
    }
  }, 180_000);
});
