// Command path benchmark (issue 11): PATCH /workloads/{id} through gateway → Kafka → workload
// service → event store → reply, next to the plainest authenticated read of the same gateway
// (GET /workloads/{id} of one small workload), in the same run; then a rebuild of read models.
//
//   npm run build && bash infra/up.sh && source infra/env.sh && node bench/commands/run.mjs
//   MODE=embedded node bench/commands/run.mjs        (in-process bus + SQLite, one process)
//   env: WORKLOADS (1000), COMMANDS (20000, at concurrency 64), HOT_COMMANDS (3000),
//        REBUILD_EVENTS (100000), STORE=sqlite (Kafka with the embedded store), PROFILE=<dir>,
//        TRACE_BREAKDOWN=1 (span timings of the c1 PATCHes, see trace-breakdown.mjs),
//        WIRE_COUNT_URL (operations per request from bench/commands/wire-count.mjs), BENCH_LOGS=1 (apps log to stdout),
//        SCALE_OUT=0 (skip the second phase: a second workload service and gateway join the
//        first ones, and the c64 PATCH run is repeated across both gateways)
//
// The workloads are seeded straight into the event store while the service is down (a create
// deploys a replica process, and a thousand processes are not what this measures); the service
// projects them at boot, exactly as it would after a crash.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('.', import.meta.url).pathname, '../..');
const require = createRequire(join(root, 'apps/workload-service/package.json'));
const WORKLOADS = Number(process.env.WORKLOADS ?? 1000);
const COMMANDS = Number(process.env.COMMANDS ?? 20_000);
const HOT_COMMANDS = Number(process.env.HOT_COMMANDS ?? 3000);
const REBUILD_EVENTS = Number(process.env.REBUILD_EVENTS ?? 100_000);
const TOKEN = 'bench-admin-token-0123456789';
const EMBEDDED = process.env.MODE === 'embedded';
const SQLITE = EMBEDDED || process.env.STORE === 'sqlite';
if (!EMBEDDED && (!process.env.KAFKA_BROKERS || !process.env.MONGODB_URI)) {
  console.error('start the servers first: bash infra/up.sh && source infra/env.sh');
  process.exit(2);
}

const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); }); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`${m}\n`);
let children = [];
function start(app, env) {
  // PROFILE=<dir>: each app writes a CPU profile there (for bench/README.md's explanation).
  const profile = process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, join(root, 'apps', app, 'dist/main.js')], { env: { ...process.env, TZ: 'UTC', ...env }, stdio: ['ignore', process.env.BENCH_LOGS ? 'inherit' : 'ignore', 'inherit'] });
  children.push(child);
  return child;
}
async function stopAll() {
  await Promise.all(children.map((c) => new Promise((ok) => { if (c.exitCode !== null) return ok(); c.once('exit', ok); c.kill('SIGTERM'); })));
  children = [];
}
async function waitHealthy(url) {
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await sleep(100);
  }
  throw new Error(`not healthy: ${url}`);
}
function percentile(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]; }
const WIRE_COUNT_URL = process.env.WIRE_COUNT_URL;
const wireCounts = async () => (WIRE_COUNT_URL ? (await fetch(WIRE_COUNT_URL)).json() : {});
async function measure(label, total, concurrency, fn) {
  const before = await wireCounts();
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      const t = performance.now();
      await fn(i);
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  if (WIRE_COUNT_URL) {
    // Operations the phase cost the MongoDB-wire server, per request (bench/commands/wire-count.mjs).
    const after = await wireCounts();
    const per = Object.entries(after).map(([k, n]) => [k, (n - (before[k] ?? 0)) / total]).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    log(`wire ops per request, ${label} c${concurrency}: ${per.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', ')}`);
  }
  return { label, concurrency, total, rps: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const namespace = `bench_${Date.now().toString(36)}`;
const [gw, ws, ts, gw2, ws2] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
const SCALE_OUT = !EMBEDDED && process.env.SCALE_OUT !== '0';
const dataDir = mkdtempSync(join(tmpdir(), 'wcp-bench-'));
const traces = process.env.TRACE_BREAKDOWN ? await (await import('./trace-breakdown.mjs')).startTraceCollector() : null;
const common = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, KAFKA_NAMESPACE: namespace, ...(traces?.env ?? {}) };
const base = `http://127.0.0.1:${gw}/api/v2`;
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

async function startWorkloadService(port, dir) {
  start('workload-service', { ...common, INTERNAL_PORT: String(port), MONGODB_URI: SQLITE ? '' : process.env.MONGODB_URI, MONGODB_DB: namespace, BOOTSTRAP_API_TOKEN: TOKEN, DATA_DIR: dir });
  await waitHealthy(`http://127.0.0.1:${port}/internal/health`);
}
async function startGateway(port, servicePort) {
  start('gateway', { ...common, PORT: String(port), WORKLOAD_SERVICE_URL: `http://127.0.0.1:${servicePort}`, TELEMETRY_SERVICE_URL: `http://127.0.0.1:${ts}`, RATE_LIMIT_PER_MINUTE: '0' });
  await waitHealthy(`http://127.0.0.1:${port}/api/v2/health`);
}
async function startSystem() {
  if (EMBEDDED) {
    start('embedded', { PORT: String(gw), DATA_DIR: dataDir, BOOTSTRAP_API_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: '0', KAFKA_BROKERS: '', MONGODB_URI: '' });
    await waitHealthy(`${base}/health`);
  } else {
    await startWorkloadService(ws, dataDir);
    start('telemetry-service', { ...common, INTERNAL_PORT: String(ts), CHDB_PATH: join(dataDir, 'chdb') });
    await waitHealthy(`http://127.0.0.1:${ts}/internal/health`);
    await startGateway(gw, ws);
  }
}

/** WORKLOADS workload streams of `owner`, appended the way the service appends them. */
async function seed(owner) {
  const ids = Array.from({ length: WORKLOADS }, (_, w) => `be${w.toString(16).padStart(22, '0')}`);
  let store;
  let close = async () => {};
  if (SQLITE) {
    const { SqliteEventStore } = await import(join(root, 'apps/workload-service/dist/event-store/sqlite.event-store.js'));
    store = new SqliteEventStore(join(dataDir, 'workload-service', 'events.sqlite'));
    close = () => store.close();
  } else {
    const mongoose = require('mongoose');
    const { MongoEventStore } = await import(join(root, 'apps/workload-service/dist/event-store/mongo.event-store.js'));
    const connection = await mongoose.createConnection(process.env.MONGODB_URI, { dbName: namespace }).asPromise();
    store = new MongoEventStore(connection);
    await store.init();
    close = () => connection.close();
  }
  const at = new Date().toISOString();
  const runtime = { containerGroups: [{ name: 'default', replicaCount: 1, autoscaling: null, resourceAllocation: null, resourceBundles: [], containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, entrypoint: [], environmentVars: [] }] }] };
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(ids.slice(i, i + 200).map((id) => store.append({
      streamId: `workload-${id}`, expectedVersion: 0, commitId: `seed-${id}`, actorId: owner.id, occurredAt: at,
      events: [{ type: 'workload.created', schemaVersion: 1, data: { workloadId: id, name: `bench-${id.slice(-6)}`, description: null, importance: 'low', artifactId: id, runtime, tags: [], creator: owner, createdAt: at } }],
      result: null,
    })));
  }
  await close();
  return ids;
}

const summary = { bench: 'commands', mode: EMBEDDED ? 'embedded' : SQLITE ? 'distributed-sqlite' : 'distributed', workloads: WORKLOADS };
try {
  await startSystem();
  const admin = (await (await fetch(`${base}/admin/users?limit=100`, { headers })).json()).data.find((u) => u.username === 'admin');
  await stopAll();
  const t0 = performance.now();
  const ids = await seed({ id: admin.id, username: 'admin' });
  log(`seeded ${ids.length} workloads in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await startSystem();
  for (let i = 0; i < 600; i++) {
    if ((await fetch(`${base}/workloads/${ids.at(-1)}`, { headers })).ok) break;
    await sleep(100);
  }
  const patch = (id, i, at = base) => fetch(`${at}/workloads/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ description: `d${i}` }) }).then(async (r) => {
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`patch: ${r.status}`);
  });
  const get = (id) => fetch(`${base}/workloads/${id}`, { headers }).then(async (r) => {
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`get: ${r.status}`);
  });
  await measure('warm-up', 2000, 32, (i) => patch(ids[i % ids.length], i));
  // The warm-up's spans are still on their way: let them in before counting.
  if (traces) await sleep(6000);
  const c1From = traces?.mark() ?? 0;
  const results = [
    await measure('plain GET /workloads/{id}', 500, 1, () => get(ids[0])),
    await measure('command PATCH /workloads/{id}', 500, 1, (i) => patch(ids[i % ids.length], i)).then(async (m) => {
      if (traces) {
        // Spans leave in batches every few seconds; the last of these PATCHes' are then in.
        await sleep(6000);
        log(`c1 PATCH, median span timings from the gateway's HTTP span:\n${traces.breakdown(c1From).join('\n')}`);
      }
      return m;
    }),
    await measure('plain GET /workloads/{id}', 5000, 16, (i) => get(ids[i % ids.length])),
    await measure('command PATCH /workloads/{id}', 5000, 16, (i) => patch(ids[i % ids.length], i)),
    await measure('plain GET /workloads/{id}', COMMANDS, 64, (i) => get(ids[i % ids.length])),
    await measure(`command PATCH over ${ids.length} workloads`, COMMANDS, 64, (i) => patch(ids[i % ids.length], i)),
    await measure('command PATCH, one hot workload', HOT_COMMANDS, 16, (i) => patch(ids[0], i)),
  ];
  console.log(`\n${summary.mode}: ${ids.length} workloads, 2 cores`);
  console.log('| path | concurrency | requests | req/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const m of results) console.log(`| ${m.label} | ${m.concurrency} | ${m.total} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} |`);
  const [plain1, cmd1, plain16, cmd16, plain64, cmd64, hot] = results;
  Object.assign(summary, {
    commandsPerSec: Math.round(cmd64.rps),
    plainPerSec: Math.round(plain64.rps),
    hotPerSec: Math.round(hot.rps),
    p50Ms: +cmd16.p50.toFixed(2),
    p99Ms: +cmd16.p99.toFixed(2),
    plainP50Ms: +plain16.p50.toFixed(2),
    plainP99Ms: +plain16.p99.toFixed(2),
    p50Ratio: +(cmd16.p50 / plain16.p50).toFixed(2),
    p99Ratio: +(cmd16.p99 / plain16.p99).toFixed(2),
    c1P50Ms: +cmd1.p50.toFixed(2),
    c1PlainP50Ms: +plain1.p50.toFixed(2),
  });
  // Scale-out (MongoDB only: the SQLite store is one process's file): a second workload service
  // joins the consumer group and takes half the partitions, a second gateway takes half the load.
  if (SCALE_OUT && !SQLITE) {
    await startWorkloadService(ws2, mkdtempSync(join(tmpdir(), 'wcp-bench-')));
    await startGateway(gw2, ws2);
    const bases = [base, `http://127.0.0.1:${gw2}/api/v2`];
    // Until the group has rebalanced, commands for the moving partitions wait.
    await measure('warm-up, two instances', 2000, 32, (i) => patch(ids[i % ids.length], i, bases[i % 2]));
    const two = await measure(`command PATCH over ${ids.length} workloads, two instances`, COMMANDS, 64, (i) => patch(ids[i % ids.length], i, bases[i % 2]));
    console.log(`| ${two.label} | ${two.concurrency} | ${two.total} | ${two.rps.toFixed(0)} | ${two.p50.toFixed(2)} | ${two.p99.toFixed(2)} |`);
    Object.assign(summary, { twoInstancesPerSec: Math.round(two.rps), scaleOutRatio: +(two.rps / cmd64.rps).toFixed(2) });
  }
} finally {
  await stopAll();
  await traces?.close();
}

// Rebuild: a log of REBUILD_EVENTS workload events in an embedded store, replayed by the CLI.
if (REBUILD_EVENTS > 0) {
  const { SqliteEventStore } = await import(join(root, 'apps/workload-service/dist/event-store/sqlite.event-store.js'));
  const rebuildDir = mkdtempSync(join(tmpdir(), 'wcp-rebuild-'));
  const store = new SqliteEventStore(join(rebuildDir, 'workload-service', 'events.sqlite'));
  const perWorkload = 10;
  for (let w = 0; w < REBUILD_EVENTS / perWorkload; w++) {
    const id = w.toString(16).padStart(24, '0');
    const at = new Date(Date.UTC(2026, 0, 1) + w * 1000).toISOString();
    await store.append({ streamId: `workload-${id}`, expectedVersion: 0, commitId: `c${w}-0`, actorId: null, occurredAt: at, events: [{ type: 'workload.created', schemaVersion: 1, data: { workloadId: id, name: `w${w}`, description: null, importance: 'low', artifactId: id, runtime: { containerGroups: [] }, tags: [], creator: { id, username: 'u' }, createdAt: at } }] });
    for (let v = 1; v < perWorkload; v++) {
      await store.append({ streamId: `workload-${id}`, expectedVersion: v, commitId: `c${w}-${v}`, actorId: null, occurredAt: at, events: [{ type: 'workload.updated', schemaVersion: 1, data: { changes: { description: `v${v}` } } }] });
    }
  }
  await store.close();
  const t1 = performance.now();
  const rebuild = spawnSync(process.execPath, [join(root, 'apps/workload-service/dist/rebuild-projections.main.js')], { env: { ...process.env, MONGODB_URI: '', KAFKA_BROKERS: '', DATA_DIR: rebuildDir }, encoding: 'utf8' });
  const rebuildSeconds = (performance.now() - t1) / 1000;
  if (rebuild.status !== 0) throw new Error(rebuild.stderr + rebuild.stdout);
  console.log(`\nrebuild of read models from ${REBUILD_EVENTS} events (${REBUILD_EVENTS / perWorkload} workloads, embedded SQLite): ${rebuildSeconds.toFixed(1)} s`);
  summary.rebuildEventsPerSec = Math.round(REBUILD_EVENTS / rebuildSeconds);
  summary.rebuildSeconds = +rebuildSeconds.toFixed(2);
}
console.log(JSON.stringify(summary));
