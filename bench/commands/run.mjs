// Command path benchmark (issue 3): PATCH /workloads/{id} through gateway → Kafka → workload
// service → event store (FerretDB) → reply, next to a plain authenticated HTTP round trip to the
// same gateway (GET /api/v2/openapi.json); then the time to rebuild read models from 100k events.
//
//   npm run build && bash infra/up.sh && source infra/env.sh && node bench/commands/run.mjs
//   env: COMMANDS (default 2000), CONCURRENCY (default 16), REBUILD_EVENTS (default 100000)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('.', import.meta.url).pathname, '../..');
const COMMANDS = Number(process.env.COMMANDS ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const REBUILD_EVENTS = Number(process.env.REBUILD_EVENTS ?? 100_000);
const TOKEN = 'bench-admin-token-0123456789';
const EMBEDDED = process.env.MODE === 'embedded';
if (!EMBEDDED && (!process.env.KAFKA_BROKERS || !process.env.MONGODB_URI)) {
  console.error('start the servers first: bash infra/up.sh && source infra/env.sh');
  process.exit(2);
}

const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); }); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
function start(app, env) {
  const child = spawn(process.execPath, [join(root, 'apps', app, 'dist/main.js')], { env: { ...process.env, TZ: 'UTC', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}
async function waitHealthy(url) {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await sleep(100);
  }
  throw new Error(`not healthy: ${url}`);
}
/** Until GET shows the workload `stopped` (its replica gone), polling every 20 ms for at most 30 s. */
async function untilStopped(id) {
  for (let i = 0; i < 1500; i++) {
    const r = await fetch(`${base}/workloads/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (r.ok && (await r.json()).status === 'stopped') return;
    await sleep(20);
  }
  throw new Error(`workload ${id} did not stop`);
}
function percentile(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]; }
async function measure(label, total, fn) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < total) {
      const i = next++;
      const t = performance.now();
      await fn(i);
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { label, rps: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

// A create deploys (one replica process per workload): the bench's workloads are stopped right
// after their create, and the admin's quota is set above their number, so the measured PATCHes
// run with no replica alive, as before creates deployed.
const MAX_ACTIVE = String(CONCURRENCY * 4 + 100);
const namespace = `bench_${Date.now().toString(36)}`;
const [gw, ws, ts] = await Promise.all([freePort(), freePort(), freePort()]);
const dataDir = mkdtempSync(join(tmpdir(), 'wcp-bench-'));
const common = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, KAFKA_NAMESPACE: namespace };
let gateway;
if (EMBEDDED) {
  // Same commands, one process: in-process bus and SQLite instead of Kafka and FerretDB.
  gateway = start('embedded', { PORT: String(gw), DATA_DIR: dataDir, BOOTSTRAP_API_TOKEN: TOKEN, RATE_LIMIT_PER_MINUTE: '0', KAFKA_BROKERS: '', MONGODB_URI: '', MAX_ACTIVE_WORKLOADS_PER_OWNER: MAX_ACTIVE });
} else {
  // STORE=sqlite keeps Kafka but swaps FerretDB for the embedded store, to split the cost.
  start('workload-service', { ...common, INTERNAL_PORT: String(ws), MONGODB_URI: process.env.STORE === 'sqlite' ? '' : process.env.MONGODB_URI, MONGODB_DB: namespace, BOOTSTRAP_API_TOKEN: TOKEN, DATA_DIR: dataDir, MAX_ACTIVE_WORKLOADS_PER_OWNER: MAX_ACTIVE });
  await waitHealthy(`http://127.0.0.1:${ws}/internal/health`);
  start('telemetry-service', { ...common, INTERNAL_PORT: String(ts), CHDB_PATH: join(dataDir, 'chdb') });
  await waitHealthy(`http://127.0.0.1:${ts}/internal/health`);
  gateway = start('gateway', { ...common, PORT: String(gw), WORKLOAD_SERVICE_URL: `http://127.0.0.1:${ws}`, TELEMETRY_SERVICE_URL: `http://127.0.0.1:${ts}`, RATE_LIMIT_PER_MINUTE: '0' });
}
await waitHealthy(`http://127.0.0.1:${gw}/api/v2/health`);
const base = `http://127.0.0.1:${gw}/api/v2`;
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

try {
  const ids = [];
  for (let i = 0; i < CONCURRENCY * 4; i++) {
    const r = await fetch(`${base}/workloads`, { method: 'POST', headers, body: JSON.stringify({ name: `b${i}`, artifact: { name: `a${i}`, spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000 }] }] } } }) });
    if (r.status !== 201) throw new Error(`create: ${r.status} ${await r.text()}`);
    const { id } = await r.json();
    const stop = await fetch(`${base}/workloads/${id}/stop`, { method: 'POST', headers: { authorization: headers.authorization } });
    if (stop.status !== 202 && stop.status !== 200) throw new Error(`stop: ${stop.status} ${await stop.text()}`);
    await untilStopped(id);
    ids.push(id);
  }
  await measure('warm-up', 200, (i) => fetch(`${base}/workloads/${ids[i % ids.length]}`, { method: 'PATCH', headers, body: JSON.stringify({ description: `w${i}` }) }).then((r) => r.arrayBuffer()));
  const plain = await measure('plain HTTP round trip (GET /openapi.json, authenticated)', COMMANDS, () => fetch(`${base}/openapi.json`, { headers }).then((r) => r.arrayBuffer()));
  const commands = await measure('command via Kafka (PATCH /workloads/{id})', COMMANDS, async (i) => {
    const r = await fetch(`${base}/workloads/${ids[i % ids.length]}`, { method: 'PATCH', headers, body: JSON.stringify({ description: `d${i}` }) });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`patch: ${r.status}`);
  });
  const rss = spawnSync('ps', ['-o', 'rss=', '-p', String(gateway.pid)]).stdout.toString().trim();
  console.log(`\ncommands: ${COMMANDS}, concurrency ${CONCURRENCY}, ${EMBEDDED ? 'embedded (in-process bus, SQLite)' : 'Kafka 4.1 + FerretDB on loopback'}, 2 cores`);
  console.log('| path | req/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |');
  for (const m of [plain, commands]) console.log(`| ${m.label} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} |`);
  console.log(`| ratio command / plain | ${(commands.rps / plain.rps).toFixed(3)} | ${(commands.p50 / plain.p50).toFixed(1)}x | ${(commands.p99 / plain.p99).toFixed(1)}x |`);
  console.log(`gateway RSS: ${(Number(rss) / 1024).toFixed(0)} MiB`);
} finally {
  for (const c of children) c.kill('SIGTERM');
}

// Rebuild: a log of REBUILD_EVENTS workload events in an embedded store, replayed by the CLI.
const { SqliteEventStore } = await import(join(root, 'apps/workload-service/dist/event-store/sqlite.event-store.js'));
const rebuildDir = mkdtempSync(join(tmpdir(), 'wcp-rebuild-'));
const store = new SqliteEventStore(join(rebuildDir, 'workload-service', 'events.sqlite'));
const perWorkload = 10;
const t0 = performance.now();
for (let w = 0; w < REBUILD_EVENTS / perWorkload; w++) {
  const id = w.toString(16).padStart(24, '0');
  const at = new Date(Date.UTC(2026, 0, 1) + w * 1000).toISOString();
  await store.append({ streamId: `workload-${id}`, expectedVersion: 0, commitId: `c${w}-0`, actorId: null, occurredAt: at, events: [{ type: 'workload.created', schemaVersion: 1, data: { workloadId: id, name: `w${w}`, description: null, importance: 'low', artifactId: id, runtime: { containerGroups: [] }, tags: [], creator: { id, username: 'u' }, createdAt: at } }] });
  for (let v = 1; v < perWorkload; v++) {
    await store.append({ streamId: `workload-${id}`, expectedVersion: v, commitId: `c${w}-${v}`, actorId: null, occurredAt: at, events: [{ type: 'workload.updated', schemaVersion: 1, data: { changes: { description: `v${v}` } } }] });
  }
}
await store.close();
const seeded = (performance.now() - t0) / 1000;
const t1 = performance.now();
const rebuild = spawnSync(process.execPath, [join(root, 'apps/workload-service/dist/rebuild-projections.main.js')], { env: { ...process.env, MONGODB_URI: '', KAFKA_BROKERS: '', DATA_DIR: rebuildDir }, encoding: 'utf8' });
const rebuildSeconds = (performance.now() - t1) / 1000;
if (rebuild.status !== 0) throw new Error(rebuild.stderr + rebuild.stdout);
console.log(`\nrebuild projections from ${REBUILD_EVENTS} events (${REBUILD_EVENTS / perWorkload} workloads, embedded SQLite): ${rebuildSeconds.toFixed(1)} s (${(REBUILD_EVENTS / rebuildSeconds).toFixed(0)} events/s); seeding took ${seeded.toFixed(1)} s`);
