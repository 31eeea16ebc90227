import 'reflect-metadata';
import { ConcurrencySample, RequestRecord, Topics } from '@wcp/contracts';
import { BusMessage, InProcessBus, ok } from '@wcp/messaging';
import { waitFor } from '@wcp/testing';
import { createServer, Server } from 'node:http';
import { createGateway, GatewayHandle, loadConfig } from '../index';
import { StandbyHolder } from './standby-holder';

const W_HOLD = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const W_POLL = 'b2b2b2b2b2b2b2b2b2b2b2b2';
const W_FULL = 'c3c3c3c3c3c3c3c3c3c3c3c3';
const W_LEAVE = 'd4d4d4d4d4d4d4d4d4d4d4d4';
const W_STOP = 'e5e5e5e5e5e5e5e5e5e5e5e5';
const W_DELETE = 'f6f6f6f6f6f6f6f6f6f6f6f6';
const W_GONE = 'a7a7a7a7a7a7a7a7a7a7a7a7';
const PROTON = 'abababababababababababab';
/** Proton ids are unique across workloads (the concurrency meter keys by them): W_GONE's own. */
const PROTON_GONE = 'cdcdcdcdcdcdcdcdcdcdcdcd';
const AUTH = { authorization: 'Bearer test-token' };
const MAX_HELD = 10;
const HOLD_TIMEOUT_MS = 1500;
/** Long next to the event path, so a wake by a workload event shows as faster than a poll. */
const POLL_MS = 700;

/** `gone`: one answer naming a replica that no longer listens (a stale route on the way to zero), then standby. */
type RouteState = 'standby' | 'ready' | 'stopped' | 'deleted' | 'gone';

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

/**
 * Scale to zero at the data plane: a fake workload service answers a standby table (no replica,
 * `standby: true`) until a test flips the workload to a real replica server (or stopped, or
 * deleted). Everything published on the bus is collected and asserted outside the handler.
 */
describe('data plane holds requests of a workload scaled to zero', () => {
  const bus = new InProcessBus();
  const samples: ConcurrencySample[] = [];
  const records: RequestRecord[] = [];
  const state = new Map<string, RouteState>();
  /** Paths as the replica received them, in order. */
  const arrivals: string[] = [];
  let replica: Server;
  let replicaPort = 0;
  /** A port nothing listens on any more. */
  let gonePort = 0;
  let workloadService: Server;
  let gateway: GatewayHandle;
  let holder: StandbyHolder;
  let wsPort = 0;

  const routesFor = (id: string) => {
    const protonId = id === W_GONE ? PROTON_GONE : PROTON;
    switch (state.get(id)) {
      case 'standby':
        return { status: 200, body: { workloadId: id, protonId, replicas: [], standby: true } };
      case 'ready':
        return { status: 200, body: { workloadId: id, protonId, replicas: [{ replica: 'r1', url: `http://127.0.0.1:${replicaPort}`, protonId }], standby: false } };
      case 'stopped':
        return { status: 200, body: { workloadId: id, protonId, replicas: [] } };
      case 'gone':
        state.set(id, 'standby');
        return { status: 200, body: { workloadId: id, protonId, replicas: [{ replica: 'r0', url: `http://127.0.0.1:${gonePort}`, protonId }], standby: false } };
      default:
        return { status: 404, body: { code: 'WORKLOAD_NOT_FOUND', kind: 'not_found', message: `Workload ${id} was not found.` } };
    }
  };

  beforeAll(async () => {
    replica = createServer((req, res) => {
      arrivals.push(req.url ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url, body: Buffer.concat(chunks).toString() }));
      });
    });
    replicaPort = await listen(replica);
    const closed = createServer();
    gonePort = await listen(closed);
    await new Promise((r) => closed.close(r));

    workloadService = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST' && url.pathname === '/internal/auth/resolve') return send(200, { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 't', isAdmin: true, groupIds: [], orgId: null });
        const access = /^\/internal\/workloads\/([^/]+)\/access$/.exec(url.pathname);
        if (access) return state.has(access[1]) && state.get(access[1]) !== 'deleted' ? send(200, { workloadId: access[1], grants: {} }) : send(404, { code: 'WORKLOAD_NOT_FOUND', kind: 'not_found', message: 'not found' });
        const routes = /^\/internal\/workloads\/([^/]+)\/routes$/.exec(url.pathname);
        if (routes) {
          const answer = routesFor(routes[1]);
          return send(answer.status, answer.body);
        }
        send(404, { code: 'NOT_FOUND', kind: 'not_found', message: 'no such internal route' });
      });
    });
    wsPort = await listen(workloadService);

    await bus.subscribe({
      topic: Topics.concurrency,
      groupId: 'int-concurrency',
      fromBeginning: true,
      handleBatch: async (messages: BusMessage[]) => {
        for (const m of messages) samples.push(m.value as ConcurrencySample);
        return messages.map(() => ok);
      },
    });
    await bus.subscribe({
      topic: Topics.requests,
      groupId: 'int-requests',
      fromBeginning: true,
      handleBatch: async (messages: BusMessage[]) => {
        for (const m of messages) records.push(m.value as RequestRecord);
        return messages.map(() => ok);
      },
    });

    const config = loadConfig({
      PORT: '0',
      REQUEST_RECORDS_FLUSH_MS: '50',
      DATA_PLANE_HOLD_MAX_REQUESTS: String(MAX_HELD),
      DATA_PLANE_HOLD_TIMEOUT_MS: String(HOLD_TIMEOUT_MS),
      DATA_PLANE_HOLD_POLL_MS: String(POLL_MS),
    });
    gateway = await createGateway({ config, bus, workloadServiceUrl: `http://127.0.0.1:${wsPort}`, telemetryServiceUrl: 'http://127.0.0.1:9', logger: false });
    holder = gateway.app.get(StandbyHolder);
  });

  afterAll(async () => {
    await gateway?.close();
    await bus.close();
    await new Promise((r) => replica?.close(r));
    await new Promise((r) => workloadService?.close(r));
  });

  interface Answer {
    status: number;
    body: any;
    retryAfter: string | null;
    /** ms from sending to the complete answer. */
    ms: number;
  }

  async function call(workloadId: string, path: string, init: RequestInit = {}): Promise<Answer> {
    const t0 = performance.now();
    const response = await fetch(`${gateway.url}/api/v2/endpoints/workloads/${workloadId}${path}`, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string>) } });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body, retryAfter: response.headers.get('retry-after'), ms: performance.now() - t0 };
  }

  /** Sends `n` requests one after the other, each once the previous one is held: their arrival order is known. */
  /** When each request of the last holdInOrder was seen held (performance.now()). */
  let heldAt: number[] = [];

  async function holdInOrder(workloadId: string, prefix: string, n: number, init: (i: number) => RequestInit = () => ({})): Promise<Array<Promise<Answer>>> {
    const answers: Array<Promise<Answer>> = [];
    const base = holder.held;
    heldAt = [];
    for (let i = 0; i < n; i++) {
      answers.push(call(workloadId, `${prefix}/${i}`, init(i)));
      await waitFor(() => holder.held >= base + i + 1, `request ${i} of ${workloadId} held`, 5000, 5);
      heldAt.push(performance.now());
    }
    return answers;
  }

  /** A workload event, as the workload service publishes them: RouteInvalidation wakes the hold. */
  const workloadEvent = (workloadId: string) => bus.publish(Topics.events, [{ key: workloadId, value: { workloadId, type: 'ProtonScaled' } }]);

  it('holds a request whose cached replica is gone when the workload went to standby, then serves it; one record', async () => {
    state.set(W_GONE, 'gone');
    const base = holder.held;
    const answer = call(W_GONE, '/late', { method: 'POST', body: 'late-body', headers: { 'content-type': 'text/plain' } });
    await waitFor(() => holder.held > base, 'the refused request held', 5000, 5);
    expect(state.get(W_GONE)).toBe('standby');
    state.set(W_GONE, 'ready');
    await workloadEvent(W_GONE);
    const done = await answer;
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ path: '/late', body: 'late-body' });
    await waitFor(() => records.some((r) => r.workloadId === W_GONE), 'its record', 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(records.filter((r) => r.workloadId === W_GONE).map((r) => [r.status, r.replica])).toEqual([[200, 'r1']]);
  });

  it('holds concurrent requests, signals demand at once, then forwards all of them in arrival order once a replica is ready', async () => {
    state.set(W_HOLD, 'standby');
    const n = 8;
    const answers = await holdInOrder(W_HOLD, '/held', n, (i) => ({ method: 'POST', body: `body-${i}`, headers: { 'content-type': 'text/plain' } }));
    const firstHeldAt = heldAt[0];
    await waitFor(() => samples.some((s) => s.workloadId === W_HOLD), 'a demand sample', 2000, 10);
    expect(arrivals.filter((p) => p.startsWith('/held'))).toEqual([]);

    state.set(W_HOLD, 'ready');
    const flippedAt = performance.now();
    await workloadEvent(W_HOLD);
    const done = await Promise.all(answers);
    const releasedIn = performance.now() - flippedAt;

    expect(done.map((a) => a.status)).toEqual(Array(n).fill(200));
    expect(done.map((a) => a.body)).toEqual(Array.from({ length: n }, (_, i) => ({ path: `/held/${i}`, body: `body-${i}` })));
    expect(arrivals.filter((p) => p.startsWith('/held'))).toEqual(Array.from({ length: n }, (_, i) => `/held/${i}`));
    // Woken by the event, not the next poll.
    expect(releasedIn).toBeLessThan(POLL_MS);

    const demand = samples.filter((s) => s.workloadId === W_HOLD);
    expect(demand[0]).toMatchObject({ type: 'concurrency.sample', schemaVersion: 1, workloadId: W_HOLD, protonId: PROTON, held: 1 });
    expect(demand.every((s) => ConcurrencySample.safeParse(s).success)).toBe(true);
    expect(Math.max(...demand.map((s) => s.held))).toBeLessThanOrEqual(n);

    // Each is recorded as forwarded, its duration counting the hold.
    const recorded = await waitFor(() => (records.filter((r) => r.workloadId === W_HOLD).length >= n ? records.filter((r) => r.workloadId === W_HOLD) : undefined), `${n} records`, 5000);
    expect(recorded.map((r) => [r.status, r.replica, r.protonId])).toEqual(Array(n).fill([200, 'r1', PROTON]));
    // Received before it was seen held, answered after the flip: its duration spans at least that.
    const first = recorded.find((r) => r.path === '/held/0')!;
    expect(first.durationMs).toBeGreaterThanOrEqual(flippedAt - firstHeldAt);
    expect(holder.held).toBe(0);
  });

  it('wakes on its poll without any workload event', async () => {
    state.set(W_POLL, 'standby');
    const answers = await holdInOrder(W_POLL, '/poll', 2);
    state.set(W_POLL, 'ready');
    const done = await Promise.all(answers);
    expect(done.map((a) => [a.status, a.body.path])).toEqual([
      [200, '/poll/0'],
      [200, '/poll/1'],
    ]);
    expect(Math.max(...done.map((a) => a.ms))).toBeLessThan(POLL_MS * 3);
  });

  it('answers 503 with Retry-After past the per-workload bound at once, and to the held ones when the wait times out', async () => {
    state.set(W_FULL, 'standby');
    const held = await holdInOrder(W_FULL, '/full', MAX_HELD);
    const over = await Promise.all([call(W_FULL, '/over'), call(W_FULL, '/over')]);
    for (const answer of over) {
      expect(answer).toMatchObject({ status: 503, retryAfter: '1', body: { detail: expect.stringContaining(`already ${MAX_HELD} requests wait`) } });
      expect(answer.ms).toBeLessThan(HOLD_TIMEOUT_MS / 2);
    }
    const timedOut = await Promise.all(held);
    for (const answer of timedOut) {
      expect(answer).toMatchObject({ status: 503, retryAfter: '1', body: { detail: expect.stringContaining(`within ${HOLD_TIMEOUT_MS} ms`) } });
      expect(answer.ms).toBeGreaterThanOrEqual(HOLD_TIMEOUT_MS - 50);
      expect(answer.ms).toBeLessThan(HOLD_TIMEOUT_MS + POLL_MS + 500);
    }
    expect(holder.held).toBe(0);
    expect(arrivals.filter((p) => p.startsWith('/full') || p.startsWith('/over'))).toEqual([]);
  });

  it('forgets a held request whose caller left; the others still go through', async () => {
    state.set(W_LEAVE, 'standby');
    const abort = new AbortController();
    const answers = await holdInOrder(W_LEAVE, '/leave', 3, (i) => (i === 1 ? { signal: abort.signal } : {}));
    abort.abort();
    await expect(answers[1]).rejects.toThrow();
    await waitFor(() => holder.held === 2, 'the left request out of the hold', 3000, 5);
    state.set(W_LEAVE, 'ready');
    await workloadEvent(W_LEAVE);
    expect((await answers[0]).status).toBe(200);
    expect((await answers[2]).status).toBe(200);
    expect(arrivals.filter((p) => p.startsWith('/leave'))).toEqual(['/leave/0', '/leave/2']);
  });

  it('answers held requests with the normal 503 when the workload is stopped, and 404 when it is deleted', async () => {
    state.set(W_STOP, 'standby');
    state.set(W_DELETE, 'standby');
    const stopped = await holdInOrder(W_STOP, '/stop', 2);
    const deleted = await holdInOrder(W_DELETE, '/delete', 2);
    state.set(W_STOP, 'stopped');
    state.set(W_DELETE, 'deleted');
    await workloadEvent(W_STOP);
    await workloadEvent(W_DELETE);
    for (const answer of await Promise.all(stopped)) expect(answer).toMatchObject({ status: 503, body: { detail: `Workload ${W_STOP} has no ready replica.` } });
    for (const answer of await Promise.all(deleted)) expect(answer).toMatchObject({ status: 404, body: { detail: expect.any(String) } });
    expect(holder.held).toBe(0);
  });

  it('answers what it holds with 503 when the gateway stops, instead of keeping the server from closing', async () => {
    state.set('abcdefabcdefabcdefabcdef', 'standby');
    const second = await createGateway({ config: loadConfig({ PORT: '0', DATA_PLANE_HOLD_TIMEOUT_MS: '60000' }), bus, workloadServiceUrl: `http://127.0.0.1:${wsPort}`, telemetryServiceUrl: 'http://127.0.0.1:9', logger: false });
    const secondHolder = second.app.get(StandbyHolder);
    const answer = fetch(`${second.url}/api/v2/endpoints/workloads/abcdefabcdefabcdefabcdef/x`, { headers: AUTH });
    await waitFor(() => secondHolder.held === 1, 'held on the second gateway', 5000, 5);
    const t0 = performance.now();
    await second.close();
    expect(performance.now() - t0).toBeLessThan(5000);
    const response = await answer;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({ detail: 'The gateway is shutting down.' });
  });
});
