import Fastify from 'fastify';
import { Writable } from 'node:stream';
import pino from 'pino';
import { logRequests, requestIdOf } from './http.logging';
import { logFields } from './log-context';
import { pinoOptions } from './logger';

describe('request ids over Fastify', () => {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean).map((l) => JSON.parse(l)));
      done();
    },
  });
  const app = Fastify({ genReqId: requestIdOf, requestIdHeader: false });
  logRequests(app, pino(pinoOptions({ app: 'test', level: 'debug' }), stream), 'info');
  // After the body is read, after an await: the id must still be bound (the reason for preValidation).
  app.post('/echo', async (request) => {
    await new Promise((r) => setTimeout(r, 1));
    return { bound: logFields().requestId, body: request.body };
  });
  afterAll(() => app.close());

  it('honours a sane X-Request-Id, binds it through a handler with a body, echoes it and logs the request', async () => {
    const response = await app.inject({ method: 'POST', url: '/echo', headers: { 'x-request-id': 'client-id-1', authorization: 'Bearer t0ken-xyz' }, payload: { a: 1 } });
    expect(response.headers['x-request-id']).toBe('client-id-1');
    expect(response.json()).toEqual({ bound: 'client-id-1', body: { a: 1 } });
    const line = lines.find((l) => l.requestId === 'client-id-1');
    expect(line).toMatchObject({ level: 'info', msg: 'request answered', method: 'POST', route: '/echo', status: 200 });
    expect(line!.req.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(lines)).not.toContain('t0ken-xyz');
  });

  it('generates a UUID when the header is missing or not a sane id', async () => {
    for (const headers of [{}, { 'x-request-id': 'a b' }, { 'x-request-id': 'x'.repeat(129) }]) {
      const response = await app.inject({ method: 'POST', url: '/echo', headers, payload: {} });
      const id = response.headers['x-request-id'] as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.json().bound).toBe(id);
    }
  });
});
