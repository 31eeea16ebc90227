'use strict';
// local/echo-model:1 — the sample model server of spec/API.md §3b. Plain Node, no dependencies.
// Env: PORT (required), HOST (listen address, default 127.0.0.1), REPLICA_NAME, ECHO_DELAY_MS (default latency), ECHO_ERROR_RATE (0..1,
// share of requests answered 500), ECHO_DRAIN_MS (how long a SIGTERM takes to exit, default
// 0: a slow drain, for tests of stop grace). Query: delayMs=N, status=N override both per request;
// cpuMs=N computes (keeps the CPU busy) for N ms of CPU time before answering, as a CPU-bound model would.
// Logs one stdout line per answered request (readiness probes of /healthz excepted): plain text,
// or a JSON line with "level":"error" for a 5xx, as structured loggers write them.
const http = require('node:http');

const port = Number(process.env.PORT);
// The runtime says where to listen (RUNTIME_BIND_HOST of the workload service); loopback when run by hand.
const host = process.env.HOST || '127.0.0.1';
const replica = process.env.REPLICA_NAME || 'unknown';
const defaultDelayMs = Math.max(0, Number(process.env.ECHO_DELAY_MS) || 0);
const errorRate = Math.min(1, Math.max(0, Number(process.env.ECHO_ERROR_RATE) || 0));
const drainMs = Math.max(0, Number(process.env.ECHO_DRAIN_MS) || 0);
// Bodies above this are drained but not parsed, so a large upload cannot exhaust memory.
const MAX_ECHO_BYTES = 1024 * 1024;

if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('echo-model: PORT must be set to a TCP port\n');
  process.exit(2);
}

function readBody(req, done) {
  const chunks = [];
  let size = 0;
  let overflow = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_ECHO_BYTES) {
      overflow = true;
      chunks.length = 0;
    } else if (!overflow) {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (overflow || size === 0) return done(null);
    try {
      done(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      done(null);
    }
  });
  req.on('error', () => done(null));
}

function logRequest(method, path, status, ms) {
  if (status >= 500) process.stdout.write(`${JSON.stringify({ level: 'error', msg: 'request failed', method, path, status, ms })}\n`);
  else process.stdout.write(`${method} ${path} ${status} ${ms}ms\n`);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://local');
  const started = process.hrtime.bigint();
  if (url.pathname !== '/healthz') {
    res.once('finish', () => logRequest(req.method, url.pathname, res.statusCode, Number((process.hrtime.bigint() - started) / 1000n) / 1000));
  }
  readBody(req, (body) => {
    const delayParam = Number(url.searchParams.get('delayMs'));
    const delayMs = url.searchParams.has('delayMs') && Number.isFinite(delayParam) && delayParam >= 0 ? Math.min(delayParam, 600000) : defaultDelayMs;
    const statusParam = Number(url.searchParams.get('status'));
    let status = 200;
    if (url.searchParams.has('status') && Number.isInteger(statusParam) && statusParam >= 200 && statusParam <= 599) status = statusParam;
    else if (errorRate > 0 && url.pathname !== '/healthz' && Math.random() < errorRate) status = 500;
    const cpuParam = Number(url.searchParams.get('cpuMs'));
    if (Number.isFinite(cpuParam) && cpuParam > 0) {
      // CPU time, not wall time: under a CPU limit the same work takes longer, as it would for a real model.
      const used = () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      };
      const until = used() + Math.min(cpuParam, 10000) * 1000;
      for (let x = 0; used() < until; ) for (let i = 0; i < 10000; i++) x = (x * 31 + i) % 1000003;
    }
    const payload = JSON.stringify({ ok: true, replica, path: url.pathname, body });
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
});

server.on('error', (err) => {
  process.stderr.write(`echo-model: ${err.message}\n`);
  // 98 tells the local runtime the port was taken, so it picks another one.
  process.exit(err.code === 'EADDRINUSE' ? 98 : 1);
});

server.listen(port, host, () => {
  process.stdout.write(`echo-model ${replica} listening on ${host}:${port}\n`);
});

// Graceful stop: no new connections, finish in-flight requests, then exit 0.
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`echo-model ${replica} got ${signal}, draining\n`);
  if (drainMs > 0) {
    setTimeout(() => process.exit(0), drainMs);
    return;
  }
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
