#!/usr/bin/env node
// Data-plane benchmark: the same requests sent straight to an echo-model replica and through the
// gateway's data plane (auth, route cache, round robin, streaming proxy, request records on an
// InProcessBus), in one run. Needs `npx turbo run build --filter=@wcp/gateway` first.
//
//   BENCH_REQUESTS     timed requests per target and round (default 10000)
//   BENCH_CONCURRENCY  requests in flight (default 32)
//   BENCH_BODY_BYTES   JSON body size of each POST (default 256; 0 sends GETs)
//   BENCH_ROUNDS       direct/gateway alternations, the best round of each is kept (default 2)
//   BENCH_LATENCY_REQUESTS  requests per target at concurrency 1, for the added latency (default 3000)
//   BENCH_SOAK_SECONDS the gateway alone under load this long, RSS sampled every 5 s (default 60; 0 skips)
//
//   BENCH_PROF         a directory: write a CPU profile of the gateway process there
//   BENCH_GATEWAY_DIST another build of the gateway (default apps/gateway/dist), for A/B runs of two builds
//
// Processes: this one (load generator + a fake workload service answering auth and routes),
// the gateway (child; also hosts a bare node:http pass-through, the floor for any extra hop),
// the replica (child). On a small machine they share the cores, so the
// figures are relative: read the ratios.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const require = createRequire(import.meta.url);

const gatewayDist = process.env.BENCH_GATEWAY_DIST ?? join(root, 'apps/gateway/dist');
const WORKLOAD = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const PROTON = 'f6f6f6f6f6f6f6f6f6f6f6f6';

if (process.argv[2] === '--gateway') await gatewayChild();
else await main();

/** The gateway as it runs in production, minus Kafka: built dist, InProcessBus, recording on. */
async function gatewayChild() {
  const { createGateway, loadConfig } = require(join(gatewayDist, 'index.js'));
  const { InProcessBus } = require('@wcp/messaging');
  const { Topics } = require('@wcp/contracts');
  const bus = new InProcessBus();
  let records = 0;
  // A consumer, like telemetry ingestion, so the topic log is read and trimmed.
  await bus.subscribe({ topic: Topics.requests, groupId: 'bench', handleBatch: async (m) => ((records += m.length), m.map(() => ({ kind: 'ok' }))) });
  const config = loadConfig({ PORT: '0', RATE_LIMIT_PER_MINUTE: '0' });
  const gateway = await createGateway({ config, bus, workloadServiceUrl: process.env.WS_URL, telemetryServiceUrl: process.env.WS_URL, logger: ['warn', 'error'] });
  const recorder = gateway.app.get(require(join(gatewayDist, 'data-plane/request-recorder.js')).RequestRecorder);
  process.on('message', async (msg) => {
    if (msg === 'stats') {
      await recorder.flush(true);
      await new Promise((r) => setTimeout(r, 50));
      process.send({ records, recorder: recorder.stats(), rssMb: process.memoryUsage().rss / 2 ** 20, maxRssMb: process.resourceUsage().maxRSS / 1024 });
    }
    if (msg === 'rss') process.send({ rssMb: process.memoryUsage().rss / 2 ** 20 });
    if (msg === 'cpu') process.send({ cpuUs: process.cpuUsage() });
    if (msg === 'stop') {
      await gateway.close();
      await bus.close();
      process.exit(0);
    }
  });
  // The floor: a bare node:http pass-through in the same process (no auth, routing or records),
  // to tell the cost of any extra hop from the cost of the gateway's own work.
  const upstream = new URL(process.env.REPLICA_URL);
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 256 });
  const bare = createServer((req, res) => {
    const out = request({ agent, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise((r) => bare.listen(0, '127.0.0.1', r));
  process.send({ url: gateway.url, bareUrl: `http://127.0.0.1:${bare.address().port}` });
}

async function main() {
  const N = Number(process.env.BENCH_REQUESTS ?? 10_000);
  const C = Number(process.env.BENCH_CONCURRENCY ?? 32);
  const BODY = Number(process.env.BENCH_BODY_BYTES ?? 256);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

  const replicaPort = await freePort();
  const replica = spawn(process.execPath, [join(root, 'apps/workload-service/images/echo-model/server.js')], {
    env: { ...process.env, PORT: String(replicaPort), REPLICA_NAME: 'bench-1' },
    stdio: 'ignore',
  });
  const replicaUrl = `http://127.0.0.1:${replicaPort}`;

  let routeCalls = 0;
  let accessCalls = 0;
  const workloadService = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/internal/auth/resolve') return res.end(JSON.stringify({ id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 'bench', isAdmin: true, groupIds: [], orgId: null }));
      if (req.url === `/internal/workloads/${WORKLOAD}/access`) {
        accessCalls += 1;
        return res.end(JSON.stringify({ workloadId: WORKLOAD, grants: { aaaaaaaaaaaaaaaaaaaaaaaa: 'OWNER' } }));
      }
      if (req.url.startsWith(`/internal/workloads/${WORKLOAD}/routes`)) {
        routeCalls += 1;
        return res.end(JSON.stringify({ workloadId: WORKLOAD, protonId: PROTON, replicas: [{ replica: 'bench-1', url: replicaUrl }] }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'NOT_FOUND', kind: 'not_found', message: 'no route' }));
    });
  });
  await new Promise((r) => workloadService.listen(0, '127.0.0.1', r));
  const wsUrl = `http://127.0.0.1:${workloadService.address().port}`;

  const gateway = fork(fileURLToPath(import.meta.url), ['--gateway'], { execArgv: process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : [], env: { ...process.env, WS_URL: wsUrl, REPLICA_URL: replicaUrl }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { url: gatewayUrl, bareUrl } = await nextMessage(gateway);
  await waitUntil(async () => (await fetch(`${replicaUrl}/healthz`)).ok);

  const body = BODY > 0 ? JSON.stringify({ inputs: 'x'.repeat(Math.max(0, BODY - 13)) }) : null;
  const method = body ? 'POST' : 'GET';
  const targets = {
    direct: { url: new URL(`${replicaUrl}/v1/predict`), headers: {} },
    bare: { url: new URL(`${bareUrl}/v1/predict`), headers: {} },
    gateway: { url: new URL(`${gatewayUrl}/api/v2/endpoints/workloads/${WORKLOAD}/v1/predict`), headers: { authorization: 'Bearer bench-token' } },
  };
  const best = {};
  const failures = [];
  let sent = 0;
  for (const name of Object.keys(targets)) {
    await load(targets[name], method, body, Math.min(2000, N), C); // warm-up: JIT, sockets, caches
    if (name === 'gateway') sent += Math.min(2000, N);
  }
  // CPU time of the gateway process per request: what this process spends on a request through
  // the data plane vs the bare proxy, much less sensitive than req/s to how the shared cores are
  // scheduled (the 'direct' figure is the process idling: its floor).
  const cpuOfGateway = async () => {
    gateway.send('cpu');
    const { cpuUs } = await nextMessage(gateway);
    return cpuUs.user + cpuUs.system;
  };
  const cpuUs = {};
  const measured = async (name, n, c) => {
    const before = await cpuOfGateway();
    const result = await load(targets[name], method, body, n, c);
    result.cpuUsPerRequest = ((await cpuOfGateway()) - before) / n;
    (cpuUs[name] ??= []).push(result.cpuUsPerRequest);
    return result;
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(targets)) {
      const result = await measured(name, N, C);
      if (name === 'gateway') sent += N;
      if (result.errors > 0) failures.push(`${name}: ${result.errors} failed requests`);
      if (!best[name] || result.rps > best[name].rps) best[name] = result;
    }
  }

  // Added latency without queueing: one request at a time, best p50 of two rounds per target.
  const LAT_N = Number(process.env.BENCH_LATENCY_REQUESTS ?? 3000);
  const serial = {};
  for (let round = 0; round < 2; round++) {
    for (const name of Object.keys(targets)) {
      const result = await load(targets[name], method, body, LAT_N, 1);
      if (name === 'gateway') sent += LAT_N;
      if (result.errors > 0) failures.push(`${name} at concurrency 1: ${result.errors} failed requests`);
      if (!serial[name] || result.p50 < serial[name].p50) serial[name] = result;
    }
  }

  // Soak: the gateway alone at concurrency C; RSS must stay flat once warm.
  const SOAK = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
  const rss = [];
  if (SOAK > 0) {
    const until = performance.now() + SOAK * 1000;
    const sampler = (async () => {
      while (performance.now() < until) {
        gateway.send('rss');
        rss.push((await nextMessage(gateway)).rssMb);
        await new Promise((r) => setTimeout(r, 5000));
      }
    })();
    while (performance.now() < until) {
      const result = await load(targets.gateway, method, body, 5000, C);
      sent += 5000;
      if (result.errors > 0) failures.push(`soak: ${result.errors} failed requests`);
    }
    await sampler;
  }

  gateway.send('stats');
  const stats = await nextMessage(gateway);
  const replicaRssMb = rssOf(replica.pid);
  gateway.send('stop');
  await new Promise((r) => gateway.once('exit', r));
  replica.kill('SIGTERM');
  workloadService.close();

  const d = best.direct;
  const g = best.gateway;
  const b = best.bare;
  const f = (x, digits = 2) => x.toFixed(digits);
  const row = (label, m) => `| ${label.padEnd(17)} | ${f(m.rps, 0).padStart(6)} | ${f(m.p50).padStart(6)} | ${f(m.p99).padStart(6)} | ${f(m.max, 1).padStart(6)} |`;
  console.log(`\n${method} ${body ? `${Buffer.byteLength(body)} B JSON` : ''}, ${N} requests x best of ${ROUNDS} rounds, concurrency ${C}, node ${process.version}\n`);
  console.log('| path              | req/s  | p50 ms | p99 ms | max ms |');
  console.log('| ----------------- | ------ | ------ | ------ | ------ |');
  console.log(row('replica, direct', d));
  console.log(row('bare node proxy', b));
  console.log(row('via data plane', g));
  const cpu = (name) => Math.min(...cpuUs[name]);
  console.log(`| data plane/direct | ${f(g.rps / d.rps).padStart(6)} | ${f(g.p50 / d.p50).padStart(6)} | ${f(g.p99 / d.p99).padStart(6)} |        |`);
  console.log(`| data plane/bare   | ${f(g.rps / b.rps).padStart(6)} | ${f(g.p50 / b.p50).padStart(6)} | ${f(g.p99 / b.p99).padStart(6)} |        |`);
  console.log(`gateway process CPU per request (µs, least of ${ROUNDS} rounds): direct ${f(cpu('direct'), 1)}, bare proxy ${f(cpu('bare'), 1)}, data plane ${f(cpu('gateway'), 1)}`);
  console.log(`\nconcurrency 1, ${LAT_N} requests x best of 2:`);
  console.log('| path              | req/s  | p50 ms | p99 ms | max ms |');
  console.log('| ----------------- | ------ | ------ | ------ | ------ |');
  console.log(row('replica, direct', serial.direct));
  console.log(row('bare node proxy', serial.bare));
  console.log(row('via data plane', serial.gateway));
  const addedP50 = serial.gateway.p50 - serial.bare.p50;
  const addedP99 = serial.gateway.p99 - serial.bare.p99;
  console.log(`added over the bare proxy: p50 ${f(addedP50, 3)} ms, p99 ${f(addedP99, 3)} ms`);
  if (rss.length > 0) console.log(`soak ${SOAK} s: gateway RSS ${rss.map((x) => f(x, 0)).join(' → ')} MiB`);
  console.log(`\ngateway RSS ${f(stats.rssMb, 0)} MiB (peak ${f(stats.maxRssMb, 0)} MiB), replica RSS ${replicaRssMb === null ? '?' : f(replicaRssMb, 0)} MiB`);
  console.log(`request records on the bus: ${stats.records} of ${sent} requests sent through the gateway; recorder ${JSON.stringify(stats.recorder)}`);
  console.log(`route resolutions asked of the workload service: ${routeCalls}; access look-ups: ${accessCalls}`);
  if (stats.records !== sent) failures.push(`${sent - stats.records} requests were not recorded`);
  const warm = rss.slice(1);
  console.log(
    JSON.stringify({
      bench: 'data-plane',
      concurrency: C,
      perSec: Math.round(g.rps),
      directPerSec: Math.round(d.rps),
      bareProxyPerSec: Math.round(b.rps),
      ratioToBareProxy: +f(g.rps / b.rps),
      ratioToDirect: +f(g.rps / d.rps),
      addedP50Ms: +f(addedP50, 3),
      addedP99Ms: +f(addedP99, 3),
      c32AddedP50Ms: +f(g.p50 - b.p50, 3),
      cpuUsPerRequest: +f(cpu('gateway'), 1),
      bareCpuUsPerRequest: +f(cpu('bare'), 1),
      rssStartMb: warm.length > 0 ? Math.round(warm[0]) : null,
      rssEndMb: warm.length > 0 ? Math.round(warm.at(-1)) : null,
      recorded: stats.records,
      sent,
    }),
  );
  if (failures.length > 0) {
    console.error(`bench invalid: ${failures.join('; ')}`);
    process.exit(1);
  }
}

/** C workers in a closed loop over one keep-alive agent; latency per request in ms. */
async function load(target, method, body, n, c) {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  const latencies = new Float64Array(n);
  let next = 0;
  let errors = 0;
  const headers = { ...target.headers, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) };
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request({ agent, hostname: target.url.hostname, port: target.url.port, path: target.url.pathname, method, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve([performance.now() - t0, res.statusCode === 200]));
      });
      req.on('error', () => resolve([performance.now() - t0, false]));
      req.end(body ?? undefined);
    });
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const [ms, ok] = await one();
      latencies[i] = ms;
      if (!ok) errors += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: c }, worker));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { rps: n / elapsed, p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1], errors };
}

function nextMessage(child) {
  return new Promise((resolve, reject) => {
    const exited = (code) => reject(new Error(`gateway exited with ${code}`));
    child.once('message', (msg) => {
      child.off('exit', exited);
      resolve(msg);
    });
    child.once('exit', exited);
  });
}

async function waitUntil(probe, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('replica did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function rssOf(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line.split(/\s+/)[1]) / 1024;
  } catch {
    return null;
  }
}
