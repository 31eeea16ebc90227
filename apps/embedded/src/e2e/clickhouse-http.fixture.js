'use strict';
// Plays docker-compose.yml's `clickhouse` service for compose-environment.e2e.spec.ts: the part of
// ClickHouse's HTTP interface that @clickhouse/client uses (GET /ping; POST / with the SQL in the
// body or in `query` followed by data, `param_*` server-side parameters, settings as URL
// parameters, basic auth), in front of chDB — the ClickHouse engine itself, in this process. No
// ClickHouse server can be installed on our machines (Debian's is 18.16, from 2018), and the
// telemetry service must still be proven to talk HTTP to the server the compose file names, with
// the credentials it names.
//
// Env: CH_HOST, CH_PORT (0 = any), CH_USER, CH_PASSWORD, CH_PATH (chDB data directory).
// Prints `READY <port>` once listening. SIGTERM closes the engine and exits.
const http = require('node:http');
const { createChdbConnection } = require('chdb/connection');

const connection = createChdbConnection({ path: process.env.CH_PATH });
const user = process.env.CH_USER || 'default';
const password = process.env.CH_PASSWORD || '';

/** URL parameters of the HTTP interface itself, not settings. */
const NOT_SETTINGS = new Set(['query', 'query_id', 'database', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'role']);

function fail(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': String(code) });
  res.end(`Code: ${code}. DB::Exception: ${message}\n`);
}

function credentials(req, url) {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization || '');
  if (basic) {
    const text = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = text.indexOf(':');
    return { user: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  return {
    user: req.headers['x-clickhouse-user'] || url.searchParams.get('user') || 'default',
    password: req.headers['x-clickhouse-key'] || url.searchParams.get('password') || '',
  };
}

async function handle(req, res) {
  const url = new URL(req.url || '/', 'http://clickhouse');
  if (url.pathname === '/ping') return void res.end('Ok.\n');
  if (url.pathname !== '/') return fail(res, 404, 0, `no handler for ${url.pathname}`);
  const who = credentials(req, url);
  if (who.user !== user || who.password !== password) {
    return fail(res, 403, 516, `${who.user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`);
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString('utf8');
  const inUrl = url.searchParams.get('query');
  const query_params = {};
  const clickhouse_settings = {};
  for (const [key, value] of url.searchParams) {
    if (key.startsWith('param_')) query_params[key.slice(6)] = value;
    else if (!NOT_SETTINGS.has(key)) clickhouse_settings[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  try {
    const result = await connection.exec({
      query: inUrl ?? body,
      values: inUrl !== null && body.length > 0 ? body : undefined,
      query_params,
      clickhouse_settings,
    });
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-query-id': result.query_id });
    result.stream.pipe(res);
  } catch (error) {
    // chDB's messages are the server's own text: `Code: 60. DB::Exception: ... (UNKNOWN_TABLE)`.
    const text = String(error.message);
    const m = /Code: (\d+)\. DB::Exception: ([\s\S]*)$/.exec(text);
    fail(res, 500, m ? Number(m[1]) : 1001, m ? m[2].trim() : text);
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => fail(res, 500, 1001, error.message));
});
server.listen(Number(process.env.CH_PORT || 0), process.env.CH_HOST || '127.0.0.1', () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  connection.close().finally(() => process.exit(0));
});
