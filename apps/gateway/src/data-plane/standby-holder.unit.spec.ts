import type { Actor } from '@wcp/contracts';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../http/api-error';
import { DataPlaneMetrics } from './data-plane.metrics';
import type { Exchange } from './replica.forwarder';
import { normaliseRoutes, ReplicaRoutes } from './replica-router';
import { StandbyHolder } from './standby-holder';

const W1 = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const W2 = 'b2b2b2b2b2b2b2b2b2b2b2b2';
const actor: Actor = { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 't', isAdmin: false, groupIds: [], orgId: null };
const standby = (workloadId: string) => normaliseRoutes({ workloadId, protonId: 'p1', replicas: [], standby: true });
const ready = (workloadId: string) => normaliseRoutes({ workloadId, protonId: 'p1', replicas: [{ replica: 'r1', url: 'http://127.0.0.1:9' }] });

/** The part of a response the holder uses; what it was answered is kept. */
class FakeResponse extends EventEmitter {
  headersSent = false;
  destroyed = false;
  status = 0;
  headers: Record<string, unknown> = {};
  body = '';
  writeHead(status: number, headers: Record<string, unknown>) {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
  }
  end(body: string) {
    this.body = body;
  }
}

function exchange(workloadId: string, path: string, complete = true): Exchange & { res: FakeResponse } {
  const res = new FakeResponse();
  return {
    req: { complete } as IncomingMessage,
    res: res as unknown as ServerResponse & FakeResponse,
    target: { workloadId, path, query: '', protonId: null },
    routes: standby(workloadId),
    headers: {},
    startedAt: new Date(),
    t0: 0,
  };
}

describe('StandbyHolder', () => {
  let clock = 0;
  const resolve = jest.fn<Promise<ReplicaRoutes>, [string, string | null, Actor]>();
  const forget = jest.fn();
  const forward = jest.fn<void, [Exchange]>();
  const publishNow = jest.fn();
  let holder: StandbyHolder;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
    resolve.mockReset().mockResolvedValue(standby(W1));
    forget.mockReset();
    forward.mockReset();
    publishNow.mockReset();
    holder = new StandbyHolder(
      { DATA_PLANE_HOLD_MAX_REQUESTS: 5, DATA_PLANE_HOLD_MAX_TOTAL: 3, DATA_PLANE_HOLD_TIMEOUT_MS: 1000, DATA_PLANE_HOLD_POLL_MS: 100 },
      { resolve, forget },
      { forward },
      { publishNow },
      new DataPlaneMetrics(10),
      () => clock,
    );
  });

  afterEach(() => {
    holder.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  /** Moves both the holder's clock and the timers. */
  async function advance(ms: number) {
    clock += ms;
    await jest.advanceTimersByTimeAsync(ms);
  }

  it('refuses past the gateway-wide bound with 503 and Retry-After, whatever the workload', () => {
    const held = [exchange(W1, '/a'), exchange(W1, '/b'), exchange(W2, '/c')];
    held.forEach((ex) => holder.hold(ex, actor));
    const refused = exchange(W2, '/d', false);
    holder.hold(refused, actor);
    expect(holder.held).toBe(3);
    expect(refused.res).toMatchObject({ status: 503, headers: { 'retry-after': '1', connection: 'close', 'content-type': 'application/json; charset=utf-8' } });
    expect(JSON.parse(refused.res.body)).toEqual({ detail: 'The gateway already holds 3 requests waiting for replicas to start.' });
    expect(held.every((ex) => ex.res.status === 0)).toBe(true);
  });

  it('signals demand at once, then at most every 250 ms with the current count', async () => {
    holder.hold(exchange(W1, '/a'), actor);
    expect(publishNow).toHaveBeenCalledWith(W1, 'p1', 1);
    holder.hold(exchange(W1, '/b'), actor);
    expect(publishNow).toHaveBeenCalledTimes(1);
    await advance(200);
    expect(publishNow).toHaveBeenCalledTimes(1);
    await advance(100);
    expect(publishNow).toHaveBeenCalledTimes(2);
    expect(publishNow).toHaveBeenLastCalledWith(W1, 'p1', 2);
  });

  it('keeps holding through a failure that is not a refusal, then forwards in order with the fresh table', async () => {
    const a = exchange(W1, '/a');
    const b = exchange(W1, '/b');
    holder.hold(a, actor);
    holder.hold(b, actor);
    resolve.mockRejectedValueOnce(new ApiError(502, 'The workload service answered 500.'));
    await advance(100);
    expect(forget).toHaveBeenCalledWith(W1);
    expect(holder.held).toBe(2);
    resolve.mockResolvedValue(ready(W1));
    await advance(100);
    expect(forward.mock.calls.map(([ex]) => ex.target.path)).toEqual(['/a', '/b']);
    expect(forward.mock.calls.every(([ex]) => ex.routes.stable.replicas.length === 1)).toBe(true);
    expect(holder.held).toBe(0);
    // The demand is withdrawn: the released requests are in flight now, counted by the meter.
    expect(publishNow).toHaveBeenLastCalledWith(W1, 'p1', 0);
    // Forwarded: the hold no longer listens to their close.
    expect(a.res.listenerCount('close')).toBe(0);
  });

  it('wakes at once on a workload event and answers a refusal to every held request', async () => {
    const held = [exchange(W1, '/a'), exchange(W1, '/b')];
    held.forEach((ex) => holder.hold(ex, actor));
    resolve.mockRejectedValue(new ApiError(404, `Workload ${W1} was not found.`));
    holder.changed(W1);
    await jest.advanceTimersByTimeAsync(0);
    expect(held.map((ex) => [ex.res.status, JSON.parse(ex.res.body).detail])).toEqual(Array(2).fill([404, `Workload ${W1} was not found.`]));
    expect(forward).not.toHaveBeenCalled();
  });

  it('answers 503 with Retry-After at the timeout, and everything still held at shutdown', async () => {
    const early = exchange(W1, '/early');
    holder.hold(early, actor);
    await advance(500);
    const late = exchange(W2, '/late');
    holder.hold(late, actor);
    await advance(500);
    expect(early.res).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    expect(late.res.status).toBe(0);
    holder.beforeApplicationShutdown();
    expect(late.res).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    expect(JSON.parse(late.res.body).detail).toMatch(/shutting down/);
    expect(holder.held).toBe(0);
    const afterwards = exchange(W1, '/afterwards');
    holder.hold(afterwards, actor);
    expect(afterwards.res.status).toBe(503);
    expect(holder.held).toBe(0);
  });

  it('takes a caller who left out of the queue', async () => {
    const a = exchange(W1, '/a');
    holder.hold(a, actor);
    a.res.emit('close');
    expect(holder.held).toBe(0);
    expect(publishNow.mock.calls).toEqual([
      [W1, 'p1', 1],
      [W1, 'p1', 0],
    ]);
    resolve.mockResolvedValue(ready(W1));
    await advance(200);
    expect(forward).not.toHaveBeenCalled();
  });
});
