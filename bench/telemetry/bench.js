#!/usr/bin/env node
// Telemetry benchmark: end-to-end ingest (bus → consumer → batched writer → ClickHouse) vs a
// plain bulk insert of the same rows into the same engine, then latency of the internal stats
// API vs the bare SQL it runs. Needs `npm run build -w @wcp/telemetry-service` first and TZ=UTC.
//
//   BENCH_RECORDS   records to ingest (default 10000000)
//   KAFKA_BROKERS   ingest through this Kafka (e.g. after `source infra/env.sh`); unset = in-process bus
//   BENCH_RUNS      timed runs per query (default 20)
//   BENCH_DIR       chDB data dir (default: a fresh temp dir, deleted at the end)
//   FLUSH_SIZE / FLUSH_INTERVAL_MS  passed to the service config
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const dist = path.join(__dirname, '../../apps/telemetry-service/dist');
const { createTelemetryService, loadTelemetryConfig } = require(dist);
const { createClickHouseClient } = require(path.join(dist, 'clickhouse/clickhouse.client.js'));
const { migrate, formatDateTime64 } = require(path.join(dist, 'clickhouse/schema.migrator.js'));
const { aggregateQuery, peakQuery } = require(path.join(dist, 'stats/stats.repository.js'));
const { InProcessBus, KafkaBus } = require('@wcp/messaging');
const { Topics } = require('@wcp/contracts');

const N = Number(process.env.BENCH_RECORDS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const DIR = process.env.BENCH_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-bench-'));
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 28, 12);
const START = NOW - 7 * DAY;
const HOT = 'a0a0a0a0a0a0a0a0a0a0a0a0'; // half of all records; the queried workload
const COLD = Array.from({ length: 9 }, (_, i) => `b${i}`.padEnd(24, '0'));
const CHUNK = 5_000;
const MAX_LAG = 50_000;

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const mb = (b) => `${(b / 1048576).toFixed(0)} MiB`;

/** Deterministic pseudo-random record i (no allocation-heavy RNG state). */
function record(i) {
  const h = (Math.imul(i + 1, 2654435761) >>> 0) / 4294967296;
  const g = (Math.imul(i + 7, 2246822519) >>> 0) / 4294967296;
  const workloadId = i % 2 === 0 ? HOT : COLD[i % COLD.length];
  return {
    type: 'request.record',
    schemaVersion: 1,
    id: `r${i}`,
    workloadId,
    protonId: `p${i % 3}`,
    replica: `replica-${i % 4}`,
    method: 'POST',
    path: '/predict',
    status: g < 0.9 ? 200 : g < 0.96 ? 404 : 503,
    startedAt: new Date(START + Math.floor(h * 7 * DAY)).toISOString(),
    durationMs: Math.round(-Math.log(1 - g) * 300 * 1000) / 1000,
    bytesIn: 512,
    bytesOut: 2048,
  };
}

function toRow(r, arrivedMs) {
  return {
    id: r.id, workload_id: r.workloadId, proton_id: r.protonId, replica: r.replica, method: r.method, path: r.path,
    status: r.status, started_at: formatDateTime64(Date.parse(r.startedAt)), duration_ms: r.durationMs,
    bytes_in: r.bytesIn, bytes_out: r.bytesOut, arrived_at: formatDateTime64(arrivedMs),
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main() {
  console.log(`telemetry bench: ${N.toLocaleString('en')} records over 7 days, chDB at ${DIR}, ${os.cpus().length} cores`);
  const config = loadTelemetryConfig({ CHDB_PATH: DIR, INTERNAL_PORT: '0', FLUSH_SIZE: process.env.FLUSH_SIZE, FLUSH_INTERVAL_MS: process.env.FLUSH_INTERVAL_MS });
  // KAFKA_BROKERS set: records travel through the real broker (Kafka → ClickHouse), else in process.
  const inner = process.env.KAFKA_BROKERS
    ? new KafkaBus({ brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'telemetry-bench', namespace: `bench_${Date.now().toString(36)}`, topics: [{ topic: Topics.requests, partitions: 6 }] })
    : new InProcessBus();
  console.log(`transport: ${process.env.KAFKA_BROKERS ? `Kafka at ${process.env.KAFKA_BROKERS}` : 'in-process bus'}`);
  let acked = 0;
  // Counts durable acknowledgements so the producer can hold back (bounded lag, bounded memory).
  const bus = {
    publish: (t, m) => inner.publish(t, m),
    subscribe: (o) => inner.subscribe({ ...o, handleBatch: async (m) => { const out = await o.handleBatch(m); acked += out.length; return out; } }),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  const service = await createTelemetryService({ bus, config, now: () => NOW });

  // 1. End to end: publish → consumer → writer → ClickHouse, until every record is acknowledged.
  let genMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i += CHUNK) {
    const g = performance.now();
    const msgs = [];
    for (let j = i; j < Math.min(N, i + CHUNK); j++) { const r = record(j); msgs.push({ key: r.workloadId, value: r }); }
    genMs += performance.now() - g;
    await bus.publish(Topics.requests, msgs);
    while (i + CHUNK - acked > MAX_LAG) await new Promise((r) => setTimeout(r, 2));
  }
  while (acked < N) await new Promise((r) => setTimeout(r, 2));
  const e2eMs = performance.now() - t0 - genMs;
  const e2eRate = N / (e2eMs / 1000);
  console.log(`ingest end to end: ${Math.round(e2eRate).toLocaleString('en')} records/s (${(e2eMs / 1000).toFixed(1)} s, generation excluded)`);

  // 2. Plain bulk insert of the same rows into the same engine (own database, same schema).
  const client = createClickHouseClient({ ...config.clickhouse, database: 'bench_plain' });
  await migrate(client, 'bench_plain');
  let plainMs = 0;
  for (let i = 0; i < N; i += 100_000) {
    const rows = [];
    for (let j = i; j < Math.min(N, i + 100_000); j++) rows.push(toRow(record(j), NOW));
    plainMs += await time(() => client.insert({ table: 'bench_plain.requests', values: rows, format: 'JSONEachRow' }));
  }
  const plainRate = N / (plainMs / 1000);
  console.log(`plain bulk insert (100k rows/insert): ${Math.round(plainRate).toLocaleString('en')} records/s → end to end reaches ${(e2eRate / plainRate * 100).toFixed(0)}% of it`);
  console.log(`RSS after ingest: ${mb(process.memoryUsage().rss)} (peak ${mb(peakRss)})`);

  // 3. Queries over the full 7-day window of the hot workload: HTTP API vs the bare SQL.
  const sel = { workloadIds: [HOT], period: { startMs: START, endMs: NOW } };
  const qs = `startTime=${new Date(START).toISOString()}&endTime=${new Date(NOW).toISOString()}`;
  const sql = async (q) => (await client.query({ ...q, format: 'JSONEachRow' })).json();
  const cases = [
    ['/stats', `/internal/workloads/${HOT}/stats?${qs}`, [aggregateQuery('telemetry', sel, { by: 'all' }, { quantile: 0.5, slowMs: 2000 }), peakQuery('telemetry', sel, { by: 'all' })]],
  ];
  const step = { by: 'step', originMs: START, stepMs: 60_000 };
  for (const m of ['totalRequests', 'requestsOverN', 'requestsPerMinute', 'concurrentRequests', 'responseTime', 'totalErrorRate']) {
    const queries = [aggregateQuery('telemetry', sel, step, { quantile: m === 'responseTime' ? 0.5 : undefined, slowMs: 2000 })];
    if (m === 'concurrentRequests') queries.push(peakQuery('telemetry', sel, step));
    cases.push([`/stats/${m} PT1M`, `/internal/workloads/${HOT}/stats/${m}?${qs}&resolution=PT1M`, queries]);
  }
  const total = (await (await fetch(`${service.url}/internal/workloads/${HOT}/stats?${qs}`)).json()).metrics.totalRequests;
  console.log(`\nqueries over 7 days of one workload (${total.toLocaleString('en')} records), ${RUNS} runs each after 1 warm-up:`);
  console.log('| query | API p50 ms | API p99 ms | SQL p50 ms | SQL p99 ms | API/SQL p50 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, url, queries] of cases) {
    const api = [];
    const bare = [];
    for (let r = 0; r <= RUNS; r++) {
      const a = await time(async () => { const res = await fetch(service.url + url); if (res.status !== 200) throw new Error(`${url}: ${res.status}`); await res.json(); });
      const b = await time(async () => { for (const q of queries) await sql(q); });
      if (r > 0) { api.push(a); bare.push(b); }
    }
    const f = (x) => x.toFixed(1);
    console.log(`| ${name} | ${f(pct(api, 50))} | ${f(pct(api, 99))} | ${f(pct(bare, 50))} | ${f(pct(bare, 99))} | ${(pct(api, 50) / pct(bare, 50)).toFixed(2)} |`);
  }
  console.log(`\nRSS at end: ${mb(process.memoryUsage().rss)} (peak ${mb(peakRss)})`);
  await client.close();
  await service.close();
  await inner.close();
  clearInterval(rssTimer);
  if (!process.env.BENCH_DIR) fs.rmSync(DIR, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
