'use strict';
// local/log-flood:1 — prints many lines fast, for tests of log shipping. Env: LOG_LINES (default
// 1000) lines "flood <i> <padding>" to LOG_STREAM (stdout | stderr | both: even i stdout, odd
// stderr), LOG_BURST lines per write (default 1000), LOG_PAUSE_MS between writes (default 0),
// LOG_PAD extra characters per line (default 0), LOG_LONG_LINE: first print one line of that
// many characters (default 0). Then prints "flood done" and serves GET /healthz until SIGTERM.
const fs = require('node:fs');
const http = require('node:http');

const port = Number(process.env.PORT);
// The runtime says where to listen (RUNTIME_BIND_HOST of the workload service); loopback when run by hand.
const host = process.env.HOST || '127.0.0.1';
const lines = Math.max(0, Number(process.env.LOG_LINES ?? 1000) || 0);
const burst = Math.max(1, Number(process.env.LOG_BURST) || 1000);
const pauseMs = Math.max(0, Number(process.env.LOG_PAUSE_MS) || 0);
const pad = 'x'.repeat(Math.max(0, Number(process.env.LOG_PAD) || 0));
const longLine = Math.max(0, Number(process.env.LOG_LONG_LINE) || 0);
const stream = process.env.LOG_STREAM || 'stdout';

// Whole bursts in one write each: an O_APPEND write of a regular file lands in one piece.
function write(fd, text) {
  if (text) fs.writeSync(fd, text);
}

let next = 0;
function flood() {
  const out = [];
  const err = [];
  for (const end = Math.min(lines, next + burst); next < end; next++) {
    const line = `flood ${next}${pad ? ` ${pad}` : ''}\n`;
    if (stream === 'stderr' || (stream === 'both' && next % 2 === 1)) err.push(line);
    else out.push(line);
  }
  write(1, out.join(''));
  write(2, err.join(''));
  if (next < lines) setTimeout(flood, pauseMs);
  else write(1, 'flood done\n');
}

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
});
server.on('error', (err) => {
  process.stderr.write(`log-flood: ${err.message}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 98 : 1);
});
server.listen(port, host, () => {
  if (longLine > 0) write(1, `${'é'.repeat(Math.ceil(longLine / 2))}${'L'.repeat(Math.floor(longLine / 2))}\n`);
  flood();
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
