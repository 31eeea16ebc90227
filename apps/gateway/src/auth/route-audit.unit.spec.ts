import Fastify from 'fastify';
import { RouteAudit } from './route-audit';

describe('RouteAudit.allowedMethods (405 with Allow)', () => {
  const fastify = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
  const audit = new RouteAudit(fastify);
  const ok = async () => ({});
  fastify.get('/api/v2/workloads/stats', ok);
  fastify.get('/api/v2/workloads/:id', ok);
  fastify.patch('/api/v2/workloads/:id', ok);
  fastify.all('/api/v2/endpoints/workloads/:workloadId/*', ok);

  beforeAll(() => fastify.ready());
  afterAll(() => fastify.close());

  it('lists the methods of the route the router would pick, a static segment before a parameter', () => {
    expect(audit.allowedMethods('/api/v2/workloads/stats?x=1')).toEqual(['GET', 'HEAD']);
    expect(audit.allowedMethods('/api/v2/workloads/65f0c0ffee0000000000a001/')).toEqual(['GET', 'HEAD', 'PATCH']);
    expect(audit.allowedMethods('/api/v2/endpoints/workloads/65f0c0ffee0000000000a001/a/b')).toEqual(expect.arrayContaining(['DELETE', 'GET', 'POST', 'PUT']));
  });

  it('answers 405 when the router falls back to a parameter route for a path a static route serves', async () => {
    const patch = await fastify.inject({ method: 'PATCH', url: '/api/v2/workloads/stats' });
    expect(patch.statusCode).toBe(405);
    expect(patch.headers.allow).toBe('GET, HEAD');
    expect((await fastify.inject({ method: 'PATCH', url: '/api/v2/workloads/65f0c0ffee0000000000a001' })).statusCode).toBe(200);
    expect((await fastify.inject({ method: 'PATCH', url: '/api/v2/endpoints/workloads/65f0c0ffee0000000000a001/stats' })).statusCode).toBe(200);
  });

  it('is empty for a path no route serves (a 404)', () => {
    expect(audit.allowedMethods('/api/v2/nothing')).toEqual([]);
  });
});
