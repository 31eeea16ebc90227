import type { Actor } from '@wcp/contracts';
import { ApiError } from '../http/api-error';
import type { InternalClient } from '../http/internal.client';
import { HttpReplicaRouter } from './replica-router';

const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const actor: Actor = { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 't', isAdmin: false, groupIds: [], orgId: null };
const routes = { workloadId: W, protonId: 'p1', replicas: [{ replica: 'r1', url: 'http://127.0.0.1:9001' }] };

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
    await expect(Promise.all([r.resolve(W, null, actor), r.resolve(W, null, actor)])).resolves.toEqual([routes, routes]);
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
    await expect(r.resolve(W, null, actor)).resolves.toEqual(routes);
  });

  it('does not cache unexpected failures', async () => {
    answers.push(new ApiError(502, 'boom'), { nonsense: true }, routes);
    const r = router();
    await expect(r.resolve(W, null, actor)).rejects.toMatchObject({ status: 502 });
    await expect(r.resolve(W, null, actor)).rejects.toMatchObject({ status: 502, detail: expect.stringMatching(/unexpected route table/) });
    await expect(r.resolve(W, null, actor)).resolves.toEqual(routes);
  });
});
