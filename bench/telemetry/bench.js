#!/usr/bin/env node
// Telemetry benchmark: end-to-end ingest (bus → consumer → batched writer → ClickHouse) vs a
// plain bulk insert of the same rows into the same engine, then latency of the internal stats
// API vs the reference: the best single-pass SQL over the same rows (no dedup, no reset filter).
// Ends with one JSON line of the figures. Needs `npm run build -w @wcp/telemetry-service` first and TZ=UTC.
//
//   BENCH_RECORDS   records to ingest (default 10000000)
//   KAFKA_BROKERS   ingest through this Kafka (e.g. after `source infra/env.sh`); unset = in-process bus
//   BENCH_RUNS      timed runs per query (default 20)
//   BENCH_DIR       chDB data dir (default: a fresh temp dir, deleted at the end)
//   FLUSH_SIZE / FLUSH_INTERVAL_MS / INGEST_CONCURRENCY  passed to the service config
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Readable } = require('node:stream');

const dist = path.join(__dirname, '../../apps/telemetry-service/dist');
const { createTelemetryService, loadTelemetryConfig } = require(dist);
const { createClickHouseClient } = require(path.join(dist, 'clickhouse/clickhouse.client.js'));
const { migrate, formatDateTime64 } = require(path.join(dist, 'clickhouse/schema.migrator.js'));
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
// toRow's keys, in its order (the ids and paths generated here need no TabSeparated escaping).
const TSV_COLUMNS = ['id', 'workload_id', 'proton_id', 'replica', 'method', 'path', 'status', 'started_at', 'duration_ms', 'bytes_in', 'bytes_out', 'arrived_at'];

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
  const config = loadTelemetryConfig({ CHDB_PATH: DIR, INTERNAL_PORT: '0', FLUSH_SIZE: process.env.FLUSH_SIZE, FLUSH_INTERVAL_MS: process.env.FLUSH_INTERVAL_MS, INGEST_CONCURRENCY: process.env.INGEST_CONCURRENCY });
  // KAFKA_BROKERS set: records travel through the real broker (Kafka → ClickHouse), else in process.
  const inner = process.env.KAFKA_BROKERS
    ? new KafkaBus({ brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'telemetry-bench', namespace: `bench_${Date.now().toString(36)}`, topics: [{ topic: Topics.requests, partitions: 6 }] })
    // Everything is published before the service subscribes: the bus must keep the whole backlog.
    : new InProcessBus({ unreadRetention: N });
  console.log(`transport: ${process.env.KAFKA_BROKERS ? `Kafka at ${process.env.KAFKA_BROKERS}` : 'in-process bus'}`);
  let acked = 0;
  // Counts durable acknowledgements so the producer can hold back (bounded lag, bounded memory).
  const bus = {
    publish: (t, m) => inner.publish(t, m),
    subscribe: (o) => inner.subscribe({ ...o, handleBatch: async (m) => { const out = await o.handleBatch(m); acked += out.length; return out; } }),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  // 1. Publish every record first (the producer is another process in production: here it must
  // not share the service's event loop), then time the service draining the backlog:
  // Kafka → consumer (zod validation) → batched writer → ClickHouse, until every record is
  // acknowledged as durable. Record generation and publishing are timed apart.
  let genMs = 0;
  const p0 = performance.now();
  const inflight = [];
  for (let i = 0; i < N; i += CHUNK) {
    const g = performance.now();
    const msgs = [];
    for (let j = i; j < Math.min(N, i + CHUNK); j++) { const r = record(j); msgs.push({ key: r.workloadId, value: r }); }
    genMs += performance.now() - g;
    inflight.push(bus.publish(Topics.requests, msgs));
    if (inflight.length > 8) await inflight.shift();
  }
  await Promise.all(inflight);
  const publishMs = performance.now() - p0 - genMs;
  console.log(`published ${N.toLocaleString('en')} records: ${Math.round(N / (publishMs / 1000)).toLocaleString('en')} records/s (generation excluded)`);
  const service = await createTelemetryService({ bus, config, now: () => NOW });
  // Timed from the end of boot (migrations, HTTP): what was acknowledged during boot is left out.
  const t0 = performance.now();
  const ackedAtBoot = acked;
  while (acked < N) await new Promise((r) => setTimeout(r, 2));
  const e2eMs = performance.now() - t0;
  const e2eRate = (N - ackedAtBoot) / (e2eMs / 1000);
  console.log(`ingest end to end: ${Math.round(e2eRate).toLocaleString('en')} records/s (${(e2eMs / 1000).toFixed(1)} s after boot, ${ackedAtBoot} acknowledged during boot)`);

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
  // The service inserts TabSeparated lines, which ClickHouse parses faster than JSONEachRow:
  // the same bulk insert in that format, so the share of the gain due to the format shows.
  const tsvClient = createClickHouseClient({ ...config.clickhouse, database: 'bench_tsv' });
  await migrate(tsvClient, 'bench_tsv');
  let tsvMs = 0;
  for (let i = 0; i < N; i += 100_000) {
    const lines = [];
    for (let j = i; j < Math.min(N, i + 100_000); j++) lines.push(Object.values(toRow(record(j), NOW)).join('\t'));
    const body = `${lines.join('\n')}\n`;
    tsvMs += await time(() => tsvClient.insert({ table: 'bench_tsv.requests', columns: TSV_COLUMNS, values: Readable.from([body], { objectMode: false }), format: 'TabSeparated' }));
  }
  await tsvClient.close();
  const tsvRate = N / (tsvMs / 1000);
  console.log(`plain bulk insert, TabSeparated (100k rows/insert): ${Math.round(tsvRate).toLocaleString('en')} records/s → end to end reaches ${(e2eRate / tsvRate * 100).toFixed(0)}% of it`);
  console.log(`RSS after ingest: ${mb(process.memoryUsage().rss)} (peak ${mb(peakRss)})`);

  // 3. Settle: the service's table force-merges quiet partitions (migration 004); until then
  // FINAL has overlapping parts to merge. Measured both ways.
  // Rows as objects, for the checks below.
  const sql = async (query, query_params = {}) => (await (await client.query({ query, query_params, format: 'JSON' })).json()).data;
  // The reference reads its answer as the service reads its own: one JSON parse of the columns,
  // counts as numbers. Rows as objects with quoted UInt64s (format JSON) cost ~4 ms more to
  // write and parse at 10 080 rows, which the reference was paying until 2026-12-03.
  const ref = async (query, query_params) => (await (await client.query({ query, query_params, format: 'JSONColumnsWithMetadata', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json()).data;
  const partsOf = async () => sql(`SELECT partition, count() AS parts FROM system.parts WHERE database = 'telemetry' AND table = 'requests' AND active GROUP BY partition ORDER BY partition`);
  const qs = (s, e) => `startTime=${new Date(s).toISOString()}&endTime=${new Date(e).toISOString()}`;
  const api = async (url) => { const res = await fetch(service.url + url); if (res.status !== 200) throw new Error(`${url}: ${res.status}`); return res.json(); };
  const week = qs(START, NOW);
  const unsettledParts = await partsOf();
  const unsettled = [];
  for (let r = 0; r < 3; r++) unsettled.push(await time(() => api(`/internal/workloads/${HOT}/stats?${week}`)));
  console.log(`\nparts right after ingest: ${JSON.stringify(unsettledParts)}; /stats over 7 days before the partitions settle: ${unsettled.map((x) => x.toFixed(0)).join(', ')} ms`);
  const settleStart = performance.now();
  while ((await partsOf()).some((p) => Number(p.parts) > 1)) await new Promise((r) => setTimeout(r, 500));
  const settleMs = performance.now() - settleStart;
  console.log(`partitions settled (one part each) ${(settleMs / 1000).toFixed(1)} s later`);

  // 4. Reference SQL: single pass over the same rows, no FINAL, no reset filter.
  const P = { w: HOT, s: START, e: NOW };
  const WHERE = `FROM telemetry.requests WHERE workload_id = {w:String} AND started_at >= fromUnixTimestamp64Milli({s:Int64}, 'UTC') AND started_at < fromUnixTimestamp64Milli({e:Int64}, 'UTC')`;
  const S = 'toFloat64(toUnixTimestamp64Milli(started_at))';
  const E = `${S} + duration_ms`;
  const B = 'intDiv(toUnixTimestamp64Milli(started_at) - {s:Int64}, 60000)';
  const refStats = `SELECT count() AS total, countIf(duration_ms > 2000) AS slow, countIf(status >= 400 AND status < 500) AS user_errors,
    countIf(status >= 500 AND status < 600) AS server_errors, quantileExact(0.5)(duration_ms) AS p50, maxIntersections(${S}, ${E}) AS peak ${WHERE}`;
  const refSeries = {
    totalRequests: 'count()',
    requestsOverN: 'countIf(duration_ms > 2000)',
    requestsPerMinute: 'count()',
    // Unclipped: the peak of intervals that start in a bucket is reached at one of their starts, so
    // clipping them to the bucket's end changes nothing but the work.
    concurrentRequests: `maxIntersections(${S}, ${E})`,
    responseTime: 'quantileExact(0.5)(duration_ms)',
    totalErrorRate: 'countIf(status >= 400 AND status < 600) / count()',
  };
  const cases = [[`/stats`, `/internal/workloads/${HOT}/stats?${week}`, refStats, P]];
  for (const [m, agg] of Object.entries(refSeries)) {
    cases.push([`/stats/${m} PT1M`, `/internal/workloads/${HOT}/stats/${m}?${week}&resolution=PT1M`, `SELECT ${B} AS b, ${agg} AS v ${WHERE} GROUP BY b`, P]);
  }
  // One hour of the hot workload (the last full hour): must not grow with the table.
  const H = { w: HOT, s: NOW - 3_600_000, e: NOW };
  cases.push([`/stats 1 hour`, `/internal/workloads/${HOT}/stats?${qs(H.s, H.e)}`, refStats, H]);

  // 5. Exactness: the API equals the previous exact SQL (FINAL, sweep by window function).
  const legacy = await legacyStats(sql, P);
  const got = (await api(`/internal/workloads/${HOT}/stats?${week}&responseTimeQuantile=0.5`)).metrics;
  const same = got.totalRequests === legacy.total && got.slowRequests === legacy.slow && got.userErrors === legacy.user_errors &&
    got.serverErrors === legacy.server_errors && got.responseTime === legacy.response_time && got.concurrentRequests === legacy.peak;
  const legacySeries = await legacyPeakSeries(sql, P);
  const series = (await api(`/internal/workloads/${HOT}/stats/concurrentRequests?${week}&resolution=PT1M`)).buckets;
  const seriesSame = series.every((b, i) => b.value === (legacySeries.get(String(i)) ?? 0));
  console.log(`exact: /stats ${same ? 'equals' : 'DIFFERS FROM'} the previous exact SQL (${JSON.stringify(got)} vs ${JSON.stringify(legacy)}); concurrency PT1M ${seriesSame ? 'equals' : 'DIFFERS FROM'} it`);

  const total = got.totalRequests;
  console.log(`\nqueries over 7 days of one workload (${total.toLocaleString('en')} records), ${RUNS} runs each after 1 warm-up, settled:`);
  console.log('| query | API p50 ms | API p99 ms | reference SQL p50 ms | reference p99 ms | API/reference p50 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  const results = {};
  for (const [name, url, refQuery, params] of cases) {
    const a = [];
    const b = [];
    for (let r = 0; r <= RUNS; r++) {
      const ta = await time(() => api(url));
      const tb = await time(() => ref(refQuery, params));
      if (r > 0) { a.push(ta); b.push(tb); }
    }
    const f = (x) => x.toFixed(1);
    results[name] = { api: pct(a, 50), ref: pct(b, 50), ratio: pct(a, 50) / pct(b, 50) };
    console.log(`| ${name} | ${f(pct(a, 50))} | ${f(pct(a, 99))} | ${f(pct(b, 50))} | ${f(pct(b, 99))} | ${(pct(a, 50) / pct(b, 50)).toFixed(2)} |`);
  }
  console.log(`\nRSS at end: ${mb(process.memoryUsage().rss)} (peak ${mb(peakRss)})`);
  const round = (x, d = 2) => Number(x.toFixed(d));
  const seriesRatios = Object.entries(results).filter(([k]) => k.endsWith('PT1M')).map(([, v]) => v.ratio);
  console.log(JSON.stringify({
    bench: 'telemetry',
    records: N,
    transport: process.env.KAFKA_BROKERS ? 'kafka' : 'in-process',
    ingestPerSec: Math.round(e2eRate),
    bulkInsertPerSec: Math.round(plainRate),
    ingestRatio: round(e2eRate / plainRate),
    bulkInsertTsvPerSec: Math.round(tsvRate),
    ingestRatioTsv: round(e2eRate / tsvRate),
    settleSeconds: round(settleMs / 1000, 1),
    statsUnsettledP50Ms: round(pct(unsettled, 50), 1),
    statsP50Ms: round(results['/stats'].api, 1),
    statsReferenceP50Ms: round(results['/stats'].ref, 1),
    statsRatio: round(results['/stats'].ratio),
    seriesWorstRatio: round(Math.max(...seriesRatios)),
    seriesRatios: Object.fromEntries(Object.entries(results).filter(([k]) => k.endsWith('PT1M')).map(([k, v]) => [k.split('/')[2].split(' ')[0], round(v.ratio)])),
    statsHourP50Ms: round(results['/stats 1 hour'].api, 1),
    statsHourReferenceP50Ms: round(results['/stats 1 hour'].ref, 1),
    exact: same && seriesSame,
    peakRssMiB: Math.round(peakRss / 1048576),
  }));
  await client.close();
  await service.close();
  await inner.close();
  clearInterval(rssTimer);
  if (!process.env.BENCH_DIR) fs.rmSync(DIR, { recursive: true, force: true });
}

/** The statistics as the service computed them before issue 12 (FINAL, window-function sweep): the exactness check. */
async function legacyStats(sql, P) {
  const sel = `SELECT started_at, duration_ms, status FROM telemetry.requests FINAL WHERE workload_id = {w:String}
    AND started_at >= fromUnixTimestamp64Milli({s:Int64}, 'UTC') AND started_at < fromUnixTimestamp64Milli({e:Int64}, 'UTC')`;
  const [agg] = await sql(`SELECT count() AS total, countIf(duration_ms > 2000) AS slow, countIf(status >= 400 AND status < 500) AS user_errors,
    countIf(status >= 500 AND status < 600) AS server_errors, quantileExactInclusive(0.5)(duration_ms) AS response_time FROM (${sel})`, P);
  const [peak] = await legacyPeak(sql, P, `'0'`, sel);
  return { total: Number(agg.total), slow: Number(agg.slow), user_errors: Number(agg.user_errors), server_errors: Number(agg.server_errors), response_time: agg.response_time, peak: Number(peak.peak) };
}

async function legacyPeakSeries(sql, P) {
  const sel = `SELECT toString(intDiv(toUnixTimestamp64Milli(started_at) - {s:Int64}, 60000)) AS g, started_at, duration_ms FROM telemetry.requests FINAL
    WHERE workload_id = {w:String} AND started_at >= fromUnixTimestamp64Milli({s:Int64}, 'UTC') AND started_at < fromUnixTimestamp64Milli({e:Int64}, 'UTC')`;
  return new Map((await legacyPeak(sql, P, 'g', sel)).map((r) => [r.g, Number(r.peak)]));
}

function legacyPeak(sql, P, g, sel) {
  return sql(`SELECT g, max(running) AS peak FROM (
      SELECT g, sum(d) OVER (PARTITION BY g ORDER BY t, k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
      FROM (
        SELECT ${g === 'g' ? 'g' : `${g} AS g`}, ev.1 AS t, ev.2 AS k, sum(ev.3) AS d FROM (${sel})
        ARRAY JOIN [
          (toFloat64(toUnixTimestamp64Milli(started_at)), toUInt8(1), toInt64(1)),
          (toUnixTimestamp64Milli(started_at) + duration_ms, if(duration_ms > 0, toUInt8(0), toUInt8(2)), toInt64(-1))
        ] AS ev
        GROUP BY g, t, k))
    GROUP BY g`, P);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
