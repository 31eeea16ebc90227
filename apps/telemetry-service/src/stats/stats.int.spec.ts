import { Topics } from '@wcp/contracts';
import { InProcessBus } from '@wcp/messaging';
import { createClickHouseClient } from '../clickhouse/clickhouse.client';
import { createTelemetryService, type TelemetryService } from '../index';
import { StatsRepository } from './stats.repository';
import { refAggregate, refDedup, refSelect, seeded, type RefRecord, type RefReset } from '../testing/stats-reference';
import { getJson, postJson, testConfig, toMessage, waitFor, workloadId } from '../testing/telemetry-test-env';

/**
 * Every statistic and every bucket of the internal API against an independent computation over
 * a generated data set: ties in start times and durations, zero durations, durations equal to
 * the threshold, gaps (empty buckets), records on window edges, several protons, duplicates,
 * resets overlapping windows, and redeliveries after a reset.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 1); // 2026-03-01T00:00:00Z
const C1 = T0 + 3 * DAY; // the fake clock during phase 1
const iso = (ms: number) => new Date(ms).toISOString();

const W = workloadId();
const W2 = workloadId();
const W3 = workloadId(); // never has records
const SENTINEL = workloadId();
const PROTONS = ['p1', 'p2', 'p3'];
const STATUSES = [200, 200, 200, 201, 204, 301, 399, 400, 404, 499, 500, 503, 599, 0, 600];

let clock = C1;
let bus: InProcessBus;
let service: TelemetryService;
const deliveries: RefRecord[] = [];
const resets: RefReset[] = [];
let sentinels = 0;
let seq = 0;

function gen(rand: () => number, workload: string, fromMs: number, toMs: number, n: number, gridMs: number): RefRecord[] {
  const out: RefRecord[] = [];
  for (let i = 0; i < n; i++) {
    const slots = Math.floor((toMs - fromMs) / gridMs);
    const startedMs = fromMs + Math.floor(rand() * slots) * gridMs;
    const pick = rand();
    const durationMs =
      pick < 0.06 ? 0 : pick < 0.12 ? 2000 : pick < 0.45 ? 50 * Math.floor(rand() * 60) : pick < 0.97 ? Math.round(rand() * 5_000_000) / 1000 : Math.round(rand() * 90_000);
    out.push({
      id: `r-${workload.slice(-6)}-${seq++}`,
      workloadId: workload,
      protonId: PROTONS[Math.floor(rand() * PROTONS.length)],
      status: STATUSES[Math.floor(rand() * STATUSES.length)],
      startedMs,
      durationMs,
      arrivedMs: 0,
    });
  }
  return out;
}

async function deliver(records: RefRecord[]): Promise<void> {
  for (const r of records) deliveries.push({ ...r, arrivedMs: clock });
  for (let i = 0; i < records.length; i += 250) {
    await bus.publish(Topics.requests, records.slice(i, i + 250).map((r) => ({ key: r.workloadId, value: toMessage(r) })));
  }
  // The consumer is in order and acknowledges durable rows only: once the sentinel is visible,
  // everything published before it is written.
  sentinels += 1;
  const s: RefRecord = { id: `sentinel-${sentinels}`, workloadId: SENTINEL, protonId: 'p1', status: 200, startedMs: T0, durationMs: 1, arrivedMs: clock };
  await bus.publish(Topics.requests, [{ key: SENTINEL, value: toMessage(s) }]);
  await waitFor(async () => {
    const { body } = await getJson<{ metrics: { totalRequests: number } }>(`${service.url}/internal/workloads/${SENTINEL}/stats?startTime=${iso(T0)}&endTime=${iso(T0 + 1)}`);
    return body.metrics?.totalRequests === sentinels;
  }, 60_000, 'ingestion');
}

async function reset(workload: string, body: { protonId?: string; startMs?: number; endMs?: number }): Promise<void> {
  const res = await postJson(`${service.url}/internal/workloads/${workload}/stats/reset`, {
    protonId: body.protonId,
    startTime: body.startMs === undefined ? undefined : iso(body.startMs),
    endTime: body.endMs === undefined ? undefined : iso(body.endMs),
    resetAt: iso(clock),
  });
  expect(res.status).toBe(200);
  resets.push({ workloadId: workload, protonId: body.protonId, startMs: body.startMs, endMs: body.endMs, resetAtMs: clock });
}

function expected(sel: { workloadIds: string[]; protonId?: string; startMs: number; endMs: number }, q: number, slowMs: number) {
  return refAggregate(refSelect(refDedup(deliveries), resets, sel), q, slowMs);
}

function expectedMetrics(a: ReturnType<typeof expected>, startMs: number, endMs: number) {
  const minutes = (endMs - startMs) / MIN;
  const rate = (x: number) => (a.total === 0 ? null : x / a.total);
  return {
    totalRequests: a.total,
    requestsPerMinute: minutes === 0 ? 0 : a.total / minutes,
    concurrentRequests: a.peak,
    responseTime: a.responseTime,
    slowRequests: a.slow,
    userErrors: a.userErrors,
    serverErrors: a.serverErrors,
    userErrorRate: rate(a.userErrors),
    serverErrorRate: rate(a.serverErrors),
    totalErrorRate: rate(a.userErrors + a.serverErrors),
  };
}

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][];
  return new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString();
}

beforeAll(async () => {
  bus = new InProcessBus();
  service = await createTelemetryService({ bus, config: testConfig('stats_int'), now: () => clock });
  const rand = seeded(42);
  // Phase 1: main block with a gap at [T0+1h, T0+1h20m), edge records, a previous period,
  // older months, a second workload, and duplicates in the same phase.
  const main = [...gen(rand, W, T0, T0 + HOUR, 700, 100), ...gen(rand, W, T0 + HOUR + 20 * MIN, T0 + 4 * HOUR, 800, 250)];
  const edges: RefRecord[] = [T0, T0 - 1, T0 + 4 * HOUR, T0 + 4 * HOUR - 1, T0 + HOUR - 1, T0 + HOUR + 20 * MIN].flatMap((startedMs, i) =>
    PROTONS.map((protonId, j) => ({ id: `edge-${i}-${j}`, workloadId: W, protonId, status: 200 + j * 150, startedMs, durationMs: j * 1000, arrivedMs: 0 })),
  );
  const previous = gen(rand, W, T0 - 4 * HOUR, T0, 300, 1000);
  const older = [...gen(rand, W, Date.UTC(2026, 0, 1), Date.UTC(2026, 1, 1), 40, MIN), ...gen(rand, W, Date.UTC(2026, 1, 1), T0, 40, MIN)];
  const other = [...gen(rand, W2, T0 - 4 * HOUR, T0 + 4 * HOUR, 300, 500)];
  const phase1 = [...main, ...edges, ...previous, ...older, ...other];
  await deliver([...phase1, ...phase1.filter((_, i) => i % 17 === 0)]);

  clock = C1 + 1000;
  await reset(W, { protonId: 'p2', startMs: T0 + 30 * MIN, endMs: T0 + 90 * MIN });
  await reset(W, { startMs: T0 + 3 * HOUR });
  await reset(W2, {});

  // Phase 2: records arriving after the resets count again; redeliveries of reset records stay excluded.
  clock = C1 + 2000;
  const inResetWindow = phase1.filter((r) => r.workloadId === W && r.startedMs >= T0 + 30 * MIN && r.startedMs < T0 + 90 * MIN);
  const fresh = [...gen(rand, W, T0 + 30 * MIN, T0 + HOUR, 150, 100), ...gen(rand, W, T0 + 3 * HOUR, T0 + 5 * HOUR, 100, 100), ...gen(rand, W2, T0, T0 + HOUR, 100, 100)];
  await deliver([...fresh, ...inResetWindow.slice(0, 150), ...phase1.filter((_, i) => i % 13 === 0)]);
  clock = C1 + 3000;
}, 120_000);

afterAll(async () => {
  await service?.close();
  await bus?.close();
});

const WINDOWS: Array<[string, number | undefined, number | undefined]> = [
  ['main', T0, T0 + 4 * HOUR],
  ['sub-window with edges', T0 + HOUR - 1, T0 + 3 * HOUR + 17 * MIN + 1],
  ['gap (no records)', T0 + HOUR, T0 + HOUR + 20 * MIN],
  ['wide', T0 - 60 * DAY, T0 + 4 * HOUR + 1],
  ['empty period', T0, T0],
  ['default (7 days up to now)', undefined, undefined],
];
const VARIANTS: Array<[number, number]> = [
  [0.5, 2000],
  [0, 0],
  [1, 1234.5],
  [0.9, 2000],
  [0.99, 50],
  [0.25, 1e9],
];

describe('GET /internal/workloads/:id/stats', () => {
  it.each(WINDOWS)('%s: every metric for every proton filter matches the reference', async (_name, startMs, endMs) => {
    let v = 0;
    for (const protonId of [undefined, ...PROTONS, 'nope']) {
      const [q, slow] = VARIANTS[v++ % VARIANTS.length];
      const defaults = q === 0.5 && slow === 2000;
      const qs = query({
        protonId,
        startTime: startMs === undefined ? undefined : iso(startMs),
        endTime: endMs === undefined ? undefined : iso(endMs),
        responseTimeQuantile: defaults ? undefined : q,
        slowRequestsThreshold: defaults ? undefined : slow,
      });
      const { status, body } = await getJson(`${service.url}/internal/workloads/${W}/stats?${qs}`);
      const end = endMs ?? clock;
      const start = startMs ?? end - 7 * DAY;
      const a = expected({ workloadIds: [W], protonId, startMs: start, endMs: end }, q, slow);
      expect(status).toBe(200);
      expect(body).toEqual({ period: { start: iso(start), end: iso(end) }, metrics: expectedMetrics(a, start, end) });
    }
  });

  it('sanity: the data set exercises what it claims', () => {
    const all = refSelect(refDedup(deliveries), resets, { workloadIds: [W], startMs: T0, endMs: T0 + 4 * HOUR });
    expect(all.length).toBeGreaterThan(1000);
    expect(all.some((r) => r.durationMs === 0)).toBe(true);
    expect(refSelect(refDedup(deliveries), resets, { workloadIds: [W], startMs: T0 + HOUR, endMs: T0 + HOUR + 20 * MIN })).toHaveLength(0);
    expect(refAggregate(all, 0.5, 2000).peak).toBeGreaterThan(3);
    // resets excluded something, and phase-2 arrivals in a reset window count
    const noResets = refSelect(refDedup(deliveries), [], { workloadIds: [W], startMs: T0, endMs: T0 + 4 * HOUR });
    expect(noResets.length).toBeGreaterThan(all.length);
    expect(all.some((r) => r.protonId === 'p2' && r.startedMs >= T0 + 30 * MIN && r.startedMs < T0 + 90 * MIN)).toBe(true);
  });
});

/** Bucket bounds computed here, independently of the service's bucket math. */
function expectedBuckets(startMs: number, endMs: number, resolution: string): Array<[number, number]> {
  const step = { PT1M: MIN, PT5M: 5 * MIN, PT1H: HOUR, P1D: DAY, P7D: 7 * DAY }[resolution];
  const out: Array<[number, number]> = [];
  if (step === undefined) {
    // P1M over [2025-12-15T06:00Z, T0+4h): month steps from the 15th.
    const b = [Date.UTC(2025, 11, 15, 6), Date.UTC(2026, 0, 15, 6), Date.UTC(2026, 1, 15, 6), T0 + 4 * HOUR];
    for (let i = 0; i < b.length - 1; i++) out.push([b[i], b[i + 1]]);
    return out;
  }
  for (let s = startMs; s < endMs; s += step) out.push([s, Math.min(s + step, endMs)]);
  return out;
}

const SERIES: Array<[string, number, number]> = [
  ['PT1M', T0 + 55 * MIN, T0 + HOUR + 25 * MIN + 30_000],
  ['PT5M', T0, T0 + 4 * HOUR],
  ['PT1H', T0 - 2 * HOUR - 1, T0 + 5 * HOUR],
  ['P1D', T0 - 4 * DAY, T0 + 3 * DAY],
  ['P7D', T0 - 30 * DAY, T0 + DAY],
  ['P1M', Date.UTC(2025, 11, 15, 6), T0 + 4 * HOUR],
];
const METRICS = ['totalRequests', 'requestsOverN', 'requestsPerMinute', 'concurrentRequests', 'responseTime', 'totalErrorRate'] as const;

describe('GET /internal/workloads/:id/stats/:metric', () => {
  it.each(SERIES)('%s: every bucket of every metric matches the reference', async (resolution, startMs, endMs) => {
    for (const metric of METRICS) {
      for (const protonId of [undefined, 'p2']) {
        const q = metric === 'responseTime' ? 0.9 : 0.5;
        const slow = 1500;
        const qs = query({ protonId, startTime: iso(startMs), endTime: iso(endMs), resolution, responseTimeQuantile: q, slowRequestsThreshold: slow });
        const { status, body } = await getJson(`${service.url}/internal/workloads/${W}/stats/${metric}?${qs}`);
        expect(status).toBe(200);
        const buckets = expectedBuckets(startMs, endMs, resolution).map(([s, e]) => {
          const a = expected({ workloadIds: [W], protonId, startMs: s, endMs: e }, q, slow);
          const value = {
            totalRequests: a.total,
            requestsOverN: a.slow,
            requestsPerMinute: a.total / ((e - s) / MIN),
            concurrentRequests: a.peak,
            responseTime: a.responseTime,
            totalErrorRate: a.total === 0 ? null : (a.userErrors + a.serverErrors) / a.total,
          }[metric];
          return { period: { start: iso(s), end: iso(e) }, value };
        });
        expect(body).toEqual({ metric, summary: { protonId: protonId ?? null, period: { start: iso(startMs), end: iso(endMs) } }, buckets });
      }
    }
  });

  it('default resolution is P1D and empty buckets are present (null / 0)', async () => {
    const { body } = await getJson<{ buckets: Array<{ value: number | null }> }>(
      `${service.url}/internal/workloads/${W}/stats/responseTime?startTime=${iso(T0 + HOUR)}&endTime=${iso(T0 + HOUR + 20 * MIN)}&resolution=PT5M`,
    );
    expect(body.buckets.map((b) => b.value)).toEqual([null, null, null, null]);
    const counts = await getJson<{ buckets: Array<{ value: number | null }> }>(`${service.url}/internal/workloads/${W}/stats/totalRequests`);
    expect(counts.body.buckets).toHaveLength(7);
  });
});

describe('POST /internal/stats/summary and /internal/stats/request-stats', () => {
  it('summary: totals, percentage error rate, quantile, peak over the union, trends vs the previous period', async () => {
    for (const [startMs, endMs, q] of [
      [T0, T0 + 4 * HOUR, 0.5],
      [T0 + 2 * HOUR, T0 + 4 * HOUR, 0.95],
      [T0 - 30 * DAY, T0 - 20 * DAY, 0.5], // no data at all
      [T0 - 4 * HOUR, T0, 0.5], // previous period has no data → trends 0
    ] as const) {
      const { status, body } = await postJson(`${service.url}/internal/stats/summary`, {
        workloadIds: [W, W2, W3],
        activeWorkloadIds: [W],
        startTime: iso(startMs),
        endTime: iso(endMs),
        responseTimeQuantile: q,
      });
      expect(status).toBe(200);
      const sel = { workloadIds: [W, W2, W3], startMs, endMs };
      const cur = expected(sel, q, 0);
      const prev = expected({ ...sel, startMs: startMs - (endMs - startMs), endMs: startMs }, q, 0);
      const failed = (a: typeof cur) => a.userErrors + a.serverErrors;
      const pct = (a: typeof cur) => (a.total === 0 ? 0 : (100 * failed(a)) / a.total);
      const tr = (c: number, p: number) => (prev.total === 0 || p === 0 ? 0 : (c - p) / p);
      expect(body).toEqual({
        workloads: { total: 3, active: 1 },
        requests: { total: cur.total, succeeded: cur.total - failed(cur), failed: failed(cur), trend: tr(cur.total, prev.total) },
        errorRate: { rate: pct(cur), trend: tr(pct(cur), pct(prev)) },
        responseTime: { millis: cur.responseTime ?? 0, trend: tr(cur.responseTime ?? 0, prev.responseTime ?? 0) },
        concurrentRequests: { count: cur.peak, trend: tr(cur.peak, prev.peak) },
      });
    }
  });

  it('request-stats: per workload over the default period (7 days up to now)', async () => {
    const { status, body } = await postJson(`${service.url}/internal/stats/request-stats`, { workloadIds: [W, W2, W3] });
    expect(status).toBe(200);
    const want: Record<string, unknown> = {};
    for (const id of [W, W2, W3]) {
      const a = expected({ workloadIds: [id], startMs: clock - 7 * DAY, endMs: clock }, 0.5, 0);
      want[id] = {
        totalRequests: a.total,
        errorRate: a.total === 0 ? null : (a.userErrors + a.serverErrors) / a.total,
        responseTime: a.responseTime,
        concurrentRequests: a.peak,
        lastRequestAt: a.lastMs === null ? null : iso(a.lastMs),
      };
    }
    expect(body).toEqual(want);
  });
});

describe('which workloads may have a reset (embedded: this process is the only writer)', () => {
  it('knows the resets in the table when first asked, and every reset written through this process since', async () => {
    const { clickhouse } = testConfig('stats_int');
    const client = createClickHouseClient(clickhouse);
    const [before, later, none] = [workloadId(), workloadId(), workloadId()];
    try {
      // As a previous run of the service left it: in the table, not written by this process.
      await client.insert({
        table: `${clickhouse.database}.stats_resets`,
        values: [{ workload_id: before, proton_id: '', window_start: null, window_end: null, reset_at: '2026-03-01 00:00:00.000' }],
        format: 'JSONEachRow',
      });
      const repository = new StatsRepository(client, clickhouse.database, true);
      expect(await repository.mayHaveResets([none])).toBe(false);
      expect(await repository.mayHaveResets([none, before])).toBe(true);
      // Through another repository of the same engine, after this one read the table.
      await new StatsRepository(client, clickhouse.database, true).addReset({ workloadId: later, resetAtMs: T0 });
      expect(await repository.mayHaveResets([later])).toBe(true);
      expect(await repository.mayHaveResets([none])).toBe(false);
      // Other writers possible (a ClickHouse server): only the query can tell.
      expect(await new StatsRepository(client, clickhouse.database, false).mayHaveResets([none])).toBe(true);
    } finally {
      await client.close();
    }
  });
});

describe('errors', () => {
  it.each([
    [`/internal/workloads/${'a'.repeat(24)}/stats/nope`, 404, 'not_found', 'METRIC_NOT_FOUND'],
    [`/internal/workloads/${'a'.repeat(24)}/stats?startTime=${iso(T0 + 1)}&endTime=${iso(T0)}`, 400, 'bad_request', 'INVALID_PERIOD'],
    [`/internal/workloads/${'a'.repeat(24)}/stats?responseTimeQuantile=1.5`, 422, 'validation', 'INVALID_QUERY'],
    [`/internal/workloads/${'a'.repeat(24)}/stats?slowRequestsThreshold=-1`, 422, 'validation', 'INVALID_QUERY'],
    [`/internal/workloads/${'a'.repeat(24)}/stats?startTime=yesterday`, 422, 'validation', 'INVALID_QUERY'],
    [`/internal/workloads/${'a'.repeat(24)}/stats?bogus=1`, 422, 'validation', 'INVALID_QUERY'],
    [`/internal/workloads/${'a'.repeat(24)}/stats/totalRequests?resolution=PT2M`, 422, 'validation', 'INVALID_QUERY'],
    [`/internal/workloads/${'a'.repeat(24)}/stats/totalRequests?resolution=PT1M&startTime=${iso(T0 - 365 * DAY)}&endTime=${iso(T0)}`, 422, 'validation', 'TOO_MANY_BUCKETS'],
    [`/internal/workloads/not-an-id/stats`, 422, 'validation', 'INVALID_PATH'],
  ])('GET %s → %i %s', async (path, status, kind, code) => {
    const res = await getJson<{ kind: string; code: string; message: string }>(`${service.url}${path}`);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ kind, code, message: expect.any(String) });
  });

  it('reset with start > end is a bad request; malformed JSON is a bad request', async () => {
    const res = await postJson(`${service.url}/internal/workloads/${W3}/stats/reset`, { startTime: iso(T0 + 1), endTime: iso(T0), resetAt: iso(clock) });
    expect(res).toEqual({ status: 400, body: { kind: 'bad_request', code: 'INVALID_PERIOD', message: expect.any(String) } });
    const raw = await fetch(`${service.url}/internal/stats/summary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ kind: 'bad_request' });
  });
});
