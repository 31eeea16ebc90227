import 'reflect-metadata';
import { BusMessage, InProcessBus, ok } from '@wcp/messaging';
import { RequestRecord, Topics } from '@wcp/contracts';
import { freePort, RunningProcess, startNode, waitFor } from '@wcp/testing';
import { createServer, IncomingHttpHeaders, request as httpRequest, Server } from 'node:http';
import { join } from 'node:path';
import { createGateway, GatewayHandle, loadConfig } from '../index';

const ECHO = join(__dirname, '../../../workload-service/images/echo-model/server.js');
const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const W_EMPTY = 'b2b2b2b2b2b2b2b2b2b2b2b2';
const W_DEAD_FIRST = 'c3c3c3c3c3c3c3c3c3c3c3c3';
const W_PROBE = 'd4d4d4d4d4d4d4d4d4d4d4d4';
const W_UNKNOWN = 'e5e5e5e5e5e5e5e5e5e5e5e5';
const W_CANARY = 'a7a7a7a7a7a7a7a7a7a7a7a7';
const W_ROLLING = 'b8b8b8b8b8b8b8b8b8b8b8b8';
const W_CANARY_DOWN = 'c9c9c9c9c9c9c9c9c9c9c9c9';
const W_CANARY_DEAD = 'dadadadadadadadadadadada';
const PROTON = 'f6f6f6f6f6f6f6f6f6f6f6f6';
const CANDIDATE = 'fbfbfbfbfbfbfbfbfbfbfbfb';
/** Share of the canary workloads' traffic that goes to the candidate; the split is exact, not sampled. */
const CANARY_PERCENT = 25;
const AUTH = { authorization: 'Bearer test-token' };
const BODY_LIMIT = 4 * 1024 * 1024;
const TIMEOUT_MS = 1500;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

/**
 * Two real echo-model replicas, a probe replica that records what reaches it, and a fake
 * workload service answering the two internal routes the gateway calls (auth and routes).
 * Route tables come in the older shape (no candidate, replicas without protonId) and the
 * current one (a weighted candidate, replicas naming their proton).
 */
describe('data plane (real replicas)', () => {
  const bus = new InProcessBus();
  /** Everything published, as delivered; checked by the tests, never inside the bus handler (a failure there would be retried, not reported). */
  const delivered: Array<{ key: string | null; value: unknown }> = [];
  const records = (): RequestRecord[] => delivered.map((m) => RequestRecord.parse(m.value));
  const routeCalls: Array<{ workloadId: string; protonId: string | null }> = [];
  const seen: Seen[] = [];
  let replicas: RunningProcess[] = [];
  let ports: number[] = [];
  let deadPort = 0;
  let workloadService: Server;
  let probe: Server;
  let probePort = 0;
  let gateway: GatewayHandle;
  let forwarded = 0;

  const routesFor = (id: string, protonId: string | null) => {
    const replica = (name: string, port: number) => ({ replica: name, url: `http://127.0.0.1:${port}` });
    switch (id) {
      case W:
        return { workloadId: W, protonId: protonId ?? PROTON, replicas: [replica('r1', ports[0]), replica('r2', ports[1])] };
      case W_EMPTY:
        return { workloadId: W_EMPTY, protonId: PROTON, replicas: [] };
      case W_DEAD_FIRST:
        return { workloadId: W_DEAD_FIRST, protonId: PROTON, replicas: [replica('dead', deadPort), replica('r1', ports[0])] };
      case W_PROBE:
        return { workloadId: W_PROBE, protonId: protonId ?? PROTON, replicas: [replica('probe', probePort)] };
      case W_CANARY:
        return {
          workloadId: W_CANARY,
          protonId: PROTON,
          replicas: [{ ...replica('r1', ports[0]), protonId: PROTON }],
          candidate: { protonId: CANDIDATE, percent: CANARY_PERCENT, replicas: [{ ...replica('r2', ports[1]), protonId: CANDIDATE }] },
        };
      case W_ROLLING:
        return { workloadId: W_ROLLING, protonId: PROTON, replicas: [{ ...replica('r1', ports[0]), protonId: PROTON }, { ...replica('r2', ports[1]), protonId: CANDIDATE }], candidate: null };
      case W_CANARY_DOWN:
        return { workloadId: W_CANARY_DOWN, protonId: PROTON, replicas: [{ ...replica('r1', ports[0]), protonId: PROTON }], candidate: { protonId: CANDIDATE, percent: 100, replicas: [] } };
      case W_CANARY_DEAD:
        return {
          workloadId: W_CANARY_DEAD,
          protonId: PROTON,
          replicas: [{ ...replica('r1', ports[0]), protonId: PROTON }],
          candidate: { protonId: CANDIDATE, percent: 100, replicas: [{ ...replica('dead', deadPort), protonId: CANDIDATE }] },
        };
      default:
        return null;
    }
  };

  beforeAll(async () => {
    ports = [await freePort(), await freePort()];
    deadPort = await freePort();
    replicas = ports.map((port, i) => startNode(ECHO, { PORT: String(port), REPLICA_NAME: `r${i + 1}` }));
    for (const port of ports) await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, `echo-model on ${port}`, 15_000);

    probe = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(207, { 'content-type': 'text/plain', 'x-probe': 'yes', connection: 'keep-alive' });
        res.end('probed');
      });
    });
    probePort = await listen(probe);

    workloadService = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST' && url.pathname === '/internal/auth/resolve') {
          return send(200, { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 't', isAdmin: true, groupIds: [], orgId: null });
        }
        const access = /^\/internal\/workloads\/([^/]+)\/access$/.exec(url.pathname);
        if (req.method === 'GET' && access) {
          return routesFor(access[1], null) ? send(200, { workloadId: access[1], grants: {} }) : send(404, { code: 'WORKLOAD_NOT_FOUND', kind: 'not_found', message: `Workload ${access[1]} was not found.` });
        }
        const match = /^\/internal\/workloads\/([^/]+)\/routes$/.exec(url.pathname);
        if (req.method === 'GET' && match) {
          routeCalls.push({ workloadId: match[1], protonId: url.searchParams.get('protonId') });
          const routes = routesFor(match[1], url.searchParams.get('protonId'));
          return routes ? send(200, routes) : send(404, { code: 'WORKLOAD_NOT_FOUND', kind: 'not_found', message: `Workload ${match[1]} was not found.` });
        }
        send(404, { code: 'NOT_FOUND', kind: 'not_found', message: 'no such internal route' });
      });
    });
    const wsPort = await listen(workloadService);

    await bus.subscribe({
      topic: Topics.requests,
      groupId: 'int-test',
      fromBeginning: true,
      handleBatch: async (messages: BusMessage[]) => {
        for (const m of messages) delivered.push({ key: m.key, value: m.value });
        return messages.map(() => ok);
      },
    });

    const config = loadConfig({
      PORT: '0',
      DATA_PLANE_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      DATA_PLANE_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
      REQUEST_RECORDS_FLUSH_MS: '50',
    });
    gateway = await createGateway({ config, bus, workloadServiceUrl: `http://127.0.0.1:${wsPort}`, telemetryServiceUrl: `http://127.0.0.1:${deadPort}`, logger: false });
  });

  afterAll(async () => {
    await gateway?.close();
    await bus.close();
    await Promise.all(replicas.map((r) => r.stop(5000)));
    await new Promise((r) => probe?.close(r));
    await new Promise((r) => workloadService?.close(r));
  });

  const url = (workloadId: string, rest = '') => `${gateway.url}/api/v2/endpoints/workloads/${workloadId}${rest}`;

  async function call(method: string, target: string, body?: string | Buffer, headers: Record<string, string> = {}) {
    const response = await fetch(target, { method, headers: { ...AUTH, ...headers }, body });
    const text = await response.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, body: json, headers: response.headers };
  }

  it('forwards method, path, query and body; the answer comes back as the replica gave it', async () => {
    const res = await call('POST', url(W, '/v1/models/m:predict?x=1'), JSON.stringify({ inputs: [1, 2, 3] }), { 'content-type': 'application/json' });
    forwarded += 1;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, replica: expect.stringMatching(/^r[12]$/), path: '/v1/models/m:predict', body: { inputs: [1, 2, 3] } });
    expect(res.headers.get('content-type')).toBe('application/json');
  });

  it('sends the replica the exact query minus protonId, filtered headers and x-forwarded-*', async () => {
    const res = await call('PUT', url(W_PROBE, '/a/b%20c/?q=a%2Fb&protonId=' + PROTON + '&z=1&z=2'), 'raw text', {
      'content-type': 'text/plain',
      'x-custom': 'kept',
      'x-forwarded-for': '6.6.6.6',
      'x-wcp-actor': 'spoofed',
    });
    forwarded += 1;
    expect(res.status).toBe(207);
    expect(res.body).toBe('probed');
    expect(res.headers.get('x-probe')).toBe('yes');
    const got = seen[seen.length - 1];
    expect(got).toMatchObject({ method: 'PUT', url: '/a/b%20c/?q=a%2Fb&z=1&z=2', body: 'raw text' });
    expect(got.headers).toMatchObject({ 'x-custom': 'kept', 'content-type': 'text/plain', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http' });
    expect(got.headers['x-forwarded-host']).toBe(new URL(gateway.url).host);
    expect(got.headers.authorization).toBeUndefined();
    expect(got.headers['x-wcp-actor']).toBeUndefined();
    expect(routeCalls).toContainEqual({ workloadId: W_PROBE, protonId: PROTON });
  });

  it('answers on the bare and trailing-slash forms with path /', async () => {
    for (const rest of ['', '/']) {
      const res = await call('GET', url(W, rest));
      forwarded += 1;
      expect(res.status).toBe(200);
      expect(res.body.path).toBe('/');
    }
  });

  it('alternates across both replicas, resolving routes from cache', async () => {
    const before = routeCalls.filter((c) => c.workloadId === W).length;
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call('GET', url(W, '/ping'));
      forwarded += 1;
      names.push(res.body.replica);
    }
    for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
    expect(new Set(names)).toEqual(new Set(['r1', 'r2']));
    // One call per DATA_PLANE_ROUTE_CACHE_MS (1 s), not one per request; 2 if the loop straddles an expiry.
    expect(routeCalls.filter((c) => c.workloadId === W).length - before).toBeLessThanOrEqual(2);
  });

  it('streams a 3 MB chunked body through (beyond the 1 MiB JSON limit)', async () => {
    const size = 3 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const response = await fetch(url(W, '/upload'), { method: 'POST', headers: { ...AUTH, 'content-type': 'application/octet-stream' }, body, duplex: 'half' } as RequestInit);
    forwarded += 1;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, path: '/upload', body: null });
    await waitFor(() => records().find((r) => r.path === '/upload'), 'upload record', 5000);
    expect(records().find((r) => r.path === '/upload')).toMatchObject({ method: 'POST', status: 200, bytesIn: size });
  });

  it('propagates the replica status code', async () => {
    const res = await call('GET', url(W, '/x?status=503'));
    forwarded += 1;
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ ok: true, path: '/x' });
  });

  it('answers 503 with a detail when no replica is ready, 404 for an unknown workload, 401 without a token', async () => {
    const empty = await call('GET', url(W_EMPTY, '/x'));
    expect(empty.status).toBe(503);
    expect(empty.body).toEqual({ detail: expect.stringContaining('no ready replica') });
    const unknown = await call('GET', url(W_UNKNOWN, '/x'));
    expect(unknown).toMatchObject({ status: 404, body: { detail: `Workload ${W_UNKNOWN} was not found.` } });
    const badId = await call('GET', url('nope', '/x'));
    expect(badId.status).toBe(404);
    const anonymous = await fetch(url(W, '/x'));
    expect(anonymous.status).toBe(401);
    // The same guard instance still guards the JSON API.
    expect((await fetch(`${gateway.url}/api/v2/workloads`)).status).toBe(401);
  });

  it('retries a refused connection on the other replica', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await call('POST', url(W_DEAD_FIRST, '/retry'), '{"a":1}', { 'content-type': 'application/json' });
      forwarded += 1;
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ replica: 'r1', body: { a: 1 } });
    }
  });

  it('answers 504 when the replica is silent longer than the upstream timeout', async () => {
    const res = await call('GET', url(W, '/slow?delayMs=4000'));
    forwarded += 1;
    expect(res.status).toBe(504);
    expect(res.body.detail).toMatch(/did not answer within 1500 ms/);
  });

  it('refuses bodies over the data-plane limit with 413, declared or streamed', async () => {
    const declared = await call('POST', url(W, '/big'), Buffer.alloc(BODY_LIMIT + 1), { 'content-type': 'application/octet-stream' });
    expect(declared.status).toBe(413);
    // Chunked: the limit is found while streaming; the replica already got the first bytes.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url(W, '/big-stream'), { method: 'POST', headers: { ...AUTH, 'content-type': 'application/octet-stream' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024);
      let written = 0;
      const write = () => {
        while (written <= BODY_LIMIT + chunk.length) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
    forwarded += 1;
    expect(status).toBe(413);
  });

  /** `n` sequential GETs on `path`; the replica and status of each. */
  async function sequence(workloadId: string, path: string, n: number) {
    const answers: Array<{ status: number; replica: string }> = [];
    for (let i = 0; i < n; i++) {
      const res = await call('GET', url(workloadId, path));
      forwarded += 1;
      answers.push({ status: res.status, replica: res.body.replica });
    }
    return answers;
  }

  const recordsOf = async (path: string, n: number) => waitFor(() => (records().filter((r) => r.path === path).length >= n ? records().filter((r) => r.path === path) : undefined), `${n} records of ${path}`, 5000);

  it('sends exactly the candidate share of requests to the candidate, and records the proton that served each', async () => {
    const answers = await sequence(W_CANARY, '/canary', 40);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // 25 % of 40, by Bresenham's rule: every fourth request, no sampling error.
    expect(answers.map((a) => a.replica).join(',')).toBe(Array.from({ length: 40 }, (_, n) => (n % 4 === 3 ? 'r2' : 'r1')).join(','));
    const recorded = await recordsOf('/canary', 40);
    expect(recorded.filter((r) => r.protonId === CANDIDATE).map((r) => r.replica)).toEqual(Array(10).fill('r2'));
    expect(recorded.filter((r) => r.protonId === PROTON).map((r) => r.replica)).toEqual(Array(30).fill('r1'));
  });

  it('during a rolling replacement, round-robins the mixed replicas and records the proton of each replica', async () => {
    const answers = await sequence(W_ROLLING, '/rolling', 6);
    expect(answers.map((a) => a.replica)).toEqual(['r1', 'r2', 'r1', 'r2', 'r1', 'r2']);
    const recorded = await recordsOf('/rolling', 6);
    expect(recorded.every((r) => r.protonId === (r.replica === 'r2' ? CANDIDATE : PROTON))).toBe(true);
  });

  it('serves the other group when the chosen one has no ready replica, or refuses its connection', async () => {
    const down = await sequence(W_CANARY_DOWN, '/canary-down', 4);
    expect(down).toEqual(Array(4).fill({ status: 200, replica: 'r1' }));
    const dead = await sequence(W_CANARY_DEAD, '/canary-dead', 2);
    expect(dead).toEqual(Array(2).fill({ status: 200, replica: 'r1' }));
    const recorded = [...(await recordsOf('/canary-down', 4)), ...(await recordsOf('/canary-dead', 2))];
    expect(recorded.map((r) => [r.protonId, r.replica, r.status])).toEqual(Array(6).fill([PROTON, 'r1', 200]));
  });

  it('publishes exactly one request record per forwarded request, with the right fields', async () => {
    await waitFor(() => delivered.length >= forwarded, `${forwarded} records`, 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(delivered).toHaveLength(forwarded);
    // Keyed by workload, so one workload's records stay in order on one partition.
    expect(delivered.filter((m) => m.key !== RequestRecord.parse(m.value).workloadId)).toEqual([]);
    expect(new Set(records().map((r) => r.id)).size).toBe(forwarded);
    const predict = records().find((r) => r.path === '/v1/models/m:predict')!;
    expect(predict).toMatchObject({ workloadId: W, protonId: PROTON, method: 'POST', status: 200, bytesIn: JSON.stringify({ inputs: [1, 2, 3] }).length });
    expect(predict.replica).toMatch(/^r[12]$/);
    expect(predict.bytesOut).toBeGreaterThan(20);
    expect(Date.parse(predict.startedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(predict.startedAt).toMatch(/\.\d{3}Z$/);
    expect(records().find((r) => r.path === '/x')).toMatchObject({ status: 503 });
    expect(records().find((r) => r.path === '/slow')).toMatchObject({ status: 504 });
    expect(records().find((r) => r.path === '/slow')!.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    expect(records().find((r) => r.path === '/big-stream')).toMatchObject({ status: 413 });
    expect(records().filter((r) => r.path === '/retry').every((r) => r.replica === 'r1' && r.status === 200)).toBe(true);
    expect(records().find((r) => r.workloadId === W_PROBE)).toMatchObject({ protonId: PROTON, replica: 'probe', method: 'PUT', path: '/a/b%20c/', status: 207, bytesIn: 8, bytesOut: 6 });
  });
});
