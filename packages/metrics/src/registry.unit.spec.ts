import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { counter, metricsText, sampled, serveMetrics } from './registry';

describe('serveMetrics', () => {
  let server: Server;
  let base: string;
  let token: string | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => serveMetrics(req, res, token) || res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the text format on GET /metrics, and leaves other paths alone', async () => {
    token = undefined;
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('process_cpu_user_seconds_total');
    expect((await fetch(`${base}/metricsx`)).status).toBe(404);
  });

  it('answers 405 with Allow to another method', async () => {
    const response = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('requires the bearer token when one is set', async () => {
    token = 'metrics-token-0123456789';
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});

describe('sampled', () => {
  it('sums the samplers of one series at scrape time and forgets a removed one', async () => {
    const removeA = sampled('gauge', 'test_sampled_things', 'Things.', ['kind'], (add) => add({ kind: 'x' }, 2));
    sampled('gauge', 'test_sampled_things', 'Things.', ['kind'], (add) => add({ kind: 'x' }, 3));
    expect(await metricsText()).toContain('test_sampled_things{kind="x"} 5');
    removeA();
    expect(await metricsText()).toContain('test_sampled_things{kind="x"} 3');
  });

  it('leaves out a failing sampler without failing the scrape', async () => {
    sampled('gauge', 'test_sampled_failing', 'Failing.', [], () => Promise.reject(new Error('broker down')));
    expect(await metricsText()).toContain('# TYPE test_sampled_failing gauge');
  });
});

describe('counter', () => {
  it('returns the same metric for the same name (one registration per process)', () => {
    expect(counter('test_counter_total', 'A counter.', ['a'])).toBe(counter('test_counter_total', 'A counter.', ['a']));
  });
});
