import type { Actor } from '@wcp/contracts';
import { ApiError } from '../http/api-error';
import type { InternalClient } from '../http/internal.client';
import { HttpReplicaRouter, normaliseRoutes } from './replica-router';

const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const actor: Actor = { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 't', isAdmin: false, groupIds: [], orgId: null };
/** The workload service's answer, and what the router makes of it. */
const routes = { workloadId: W, protonId: 'p1', replicas: [{ replica: 'r1', url: 'http://127.0.0.1:9001', protonId: 'p1' }], candidate: null };
const table = normaliseRoutes(routes);

describe('HttpReplicaRouter', () => {
  let clock = 0;
  let answers: Array<unknown>;
  const get = jest.fn();
  const router = () => new HttpReplicaRouter({ get } as unknown as InternalClient, { DATA_PLANE_ROUTE_CACHE_MS: 1000 }, () => clock);

  beforeEach(() => {
    clock = 0;
    answers = [];
    get.mockReset().mockImplementation(async () => {
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    });
  });

  it('asks the workload service once per (workload, proton, actor) and interval, sharing concurrent misses', async () => {
    answers.push(routes, routes, routes);
    const r = router();
    await expect(Promise.all([r.resolve(W, null, actor), r.resolve(W, null, actor)])).resolves.toEqual([table, table]);
    expect(get).toHaveBeenCalledTimes(1);
    expect(get).toHaveBeenCalledWith(`/internal/workloads/${W}/routes`, actor);
    clock = 999;
    await r.resolve(W, null, actor);
    expect(get).toHaveBeenCalledTimes(1);
    await r.resolve(W, 'p 2', actor);
    expect(get).toHaveBeenLastCalledWith(`/internal/workloads/${W}/routes?protonId=p%202`, actor);
    clock = 1000;
    await r.resolve(W, null, actor);
    expect(get).toHaveBeenCalledTimes(3);
  });

  it('turns an empty replica list into 503 and caches refusals only briefly', async () => {
    answers.push({ ...routes, replicas: [] }, routes);
    const r = router();
    await expect(r.resolve(W, null, actor)).rejects.toMatchObject({ status: 503, detail: `Workload ${W} has no ready replica.` });
    clock = 200;
    await expect(r.resolve(W, null, actor)).rejects.toMatchObject({ status: 503 });
    expect(get).toHaveBeenCalledTimes(1);
    clock = 250;
    await expect(r.resolve(W, null, actor)).resolves.toEqual(table);
  });

  it('does not cache unexpected failures', async () => {
    answers.push(new ApiError(502, 'boom'), { nonsense: true }, routes);
    const r = router();
    await expect(r.resolve(W, null, actor)).rejects.toMatchObject({ status: 502 });
    await expect(r.resolve(W, null, actor)).rejects.toMatchObject({ status: 502, detail: expect.stringMatching(/unexpected route table/) });
    await expect(r.resolve(W, null, actor)).resolves.toEqual(table);
  });

  it('keeps a weighted candidate, and answers 503 only when neither group has a replica', async () => {
    const candidate = { protonId: 'p2', percent: 12.5, replicas: [{ replica: 'c1', url: 'http://127.0.0.1:9002', protonId: 'p2' }] };
    answers.push({ ...routes, replicas: [], candidate }, { ...routes, replicas: [], candidate: { ...candidate, replicas: [] } });
    const r = router();
    await expect(r.resolve(W, null, actor)).resolves.toMatchObject({
      stable: { protonId: 'p1', replicas: [] },
      candidate: { protonId: 'p2', percent: 12.5, rotationKey: `${W}/p2`, replicas: [{ replica: 'c1', protonId: 'p2' }] },
    });
    await expect(r.resolve(W, 'p1', actor)).rejects.toMatchObject({ status: 503 });
  });

  it('refuses a candidate share outside 0..100 as an unexpected table', async () => {
    answers.push({ ...routes, candidate: { protonId: 'p2', percent: 120, replicas: [] } });
    await expect(router().resolve(W, null, actor)).rejects.toMatchObject({ status: 502 });
  });

  it('returns a standby table without replicas instead of 503, cached only briefly; a ready replica wins over standby', async () => {
    answers.push({ ...routes, replicas: [], standby: true }, { ...routes, standby: true });
    const r = router();
    await expect(r.resolve(W, null, actor)).resolves.toMatchObject({ standby: true, stable: { protonId: 'p1', replicas: [] }, candidate: null });
    clock = 249;
    await r.resolve(W, null, actor);
    expect(get).toHaveBeenCalledTimes(1);
    clock = 250;
    await expect(r.resolve(W, null, actor)).resolves.toEqual(table);
    expect(table.standby).toBe(false);
  });
});
