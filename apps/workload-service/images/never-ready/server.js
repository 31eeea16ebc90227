'use strict';
// local/never-ready:1 — starts and listens, but its readiness path GET /healthz always answers
// 503, so a proton of it never becomes ready. Other paths answer 200 so liveness can pass.
const http = require('node:http');

const port = Number(process.env.PORT);
// The runtime says where to listen (RUNTIME_BIND_HOST of the workload service); loopback when run by hand.
const host = process.env.HOST || '127.0.0.1';
const replica = process.env.REPLICA_NAME || 'unknown';

const server = http.createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://local');
  req.resume();
  req.on('end', () => {
    const ready = url.pathname !== '/healthz';
    const payload = JSON.stringify({ ok: ready, replica, path: url.pathname });
    res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    res.end(payload);
  });
});

server.on('error', (err) => {
  process.stderr.write(`never-ready: ${err.message}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 98 : 1);
});
server.listen(port, host, () => {
  process.stdout.write(`never-ready ${replica} listening on ${host}:${port}, /healthz answers 503\n`);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
