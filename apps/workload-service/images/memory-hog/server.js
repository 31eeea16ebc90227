'use strict';
// local/memory-hog:1 — serves GET /healthz, then after ALLOC_AFTER_MS (default 300) allocates
// ALLOC_MB (default 256) of touched memory in 16 MiB steps and holds it: tests of memory limits.
// SPIN_MS keeps one CPU busy for that long after start (tests of CPU limits).
const http = require('node:http');
const port = Number(process.env.PORT) || 8080;
const host = process.env.HOST || '127.0.0.1';
const totalMb = process.env.ALLOC_MB === undefined ? 256 : Math.max(0, Number(process.env.ALLOC_MB) || 0);
const after = Math.max(0, Number(process.env.ALLOC_AFTER_MS) || 300);
const spinMs = Math.max(0, Number(process.env.SPIN_MS) || 0);
const held = [];
http.createServer((req, res) => res.end('ok')).listen(port, host, () => {
  // In slices, so /healthz still answers between them.
  const until = Date.now() + spinMs;
  (function spin() {
    const slice = Date.now() + 50;
    while (Date.now() < Math.min(slice, until));
    if (Date.now() < until) setImmediate(spin);
  })();
});
setTimeout(function grow() {
  if (held.length * 16 >= totalMb) return;
  // Buffer.alloc fills with zeros, so the pages are resident (counted in RSS), not just reserved.
  held.push(Buffer.alloc(16 * 1024 * 1024, 1));
  setTimeout(grow, 20);
}, after);
