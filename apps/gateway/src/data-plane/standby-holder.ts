import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import type { Actor } from '@wcp/contracts';
import type { GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { DataPlaneMetrics, HoldOutcome } from './data-plane.metrics';
import { answerDetail } from './detail-answer';
import type { ConcurrencyMeter } from './concurrency.meter';
import type { Exchange, ReplicaForwarder } from './replica.forwarder';
import type { ReplicaRouter, ReplicaRoutes } from './replica-router';
import { HoldBook } from './standby-hold';

/** Shortest gap between two demand samples of one held key (ms): the first goes out at once. */
export const HOLD_DEMAND_EVERY_MS = 250;

/** What a caller refused by the hold is told to wait before trying again (seconds). */
const RETRY_AFTER_S = '1';

const SHUTTING_DOWN = new ApiError(503, 'The gateway is shutting down.', { 'retry-after': RETRY_AFTER_S });

/** One request waiting for a ready replica; its body is left unread (see StandbyHolder). */
interface Held {
  ex: Exchange;
  actor: Actor;
  onClose: () => void;
}

export type HoldConfig = Pick<GatewayConfig, 'DATA_PLANE_HOLD_MAX_REQUESTS' | 'DATA_PLANE_HOLD_MAX_TOTAL' | 'DATA_PLANE_HOLD_TIMEOUT_MS' | 'DATA_PLANE_HOLD_POLL_MS'>;

/**
 * Holds the requests of a proton scaled to zero (the router's `standby` table) until it has a
 * ready replica, then forwards them in arrival order through the ordinary forwarder, so each
 * is recorded, its duration counting the hold.
 *
 * - Bounded: DATA_PLANE_HOLD_MAX_REQUESTS per workload, DATA_PLANE_HOLD_MAX_TOTAL in all,
 *   DATA_PLANE_HOLD_TIMEOUT_MS each; past a bound or the wait, `503` with `Retry-After`.
 * - The body is not read while held: the request stream stays paused, so what waits in memory is
 *   its headers and at most the socket's buffered bytes (TCP flow control holds back the rest).
 *   Nothing is buffered beyond what a forwarded request would buffer, and the body limit is
 *   still counted by the forwarder as the body streams.
 * - Demand: a ConcurrencySample with `held` goes out at once for the first held request of a
 *   key, then every HOLD_DEMAND_EVERY_MS at most while it holds any, and `held` 0 when the key
 *   holds nothing any more (released, refused, timed out or left), so the ConcurrencyMeter,
 *   which keeps the held count in its in-flight level, drops it.
 * - Wake: every DATA_PLANE_HOLD_POLL_MS, and at once on any event of the workload
 *   (`changed`, from RouteInvalidation), the routes are asked again with the cache forgotten. A
 *   table with a replica releases every held request; a refusal (stopped: 503, deleted: 404,
 *   access: 403) answers all of them with it.
 * - A caller who leaves is taken out of the queue; nothing of it is kept.
 */
export class StandbyHolder implements BeforeApplicationShutdown {
  private readonly logger = new Logger('StandbyHolder');
  private readonly book: HoldBook<Held>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly polling = new Set<string>();
  /** The proton each held key's demand went to, so its end can be told too. */
  private readonly demanded = new Map<string, { workloadId: string; protonId: string }>();
  private readonly unwatch: () => void;
  private closing = false;

  constructor(
    private readonly config: HoldConfig,
    private readonly router: ReplicaRouter,
    private readonly forwarder: Pick<ReplicaForwarder, 'forward'>,
    /** The meter's `publishNow`: `held` for (workload, proton) now, published at once; 0 withdraws it. */
    private readonly demand: Pick<ConcurrencyMeter, 'publishNow'>,
    private readonly metrics: DataPlaneMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.book = new HoldBook({
      perWorkload: config.DATA_PLANE_HOLD_MAX_REQUESTS,
      total: config.DATA_PLANE_HOLD_MAX_TOTAL,
      timeoutMs: config.DATA_PLANE_HOLD_TIMEOUT_MS,
      demandEveryMs: HOLD_DEMAND_EVERY_MS,
    });
    this.unwatch = metrics.watchHeld(() => this.heldPerWorkload());
  }

  /** Requests held now, across workloads. */
  get held(): number {
    return this.book.total;
  }

  /** Holds `ex`, whose routes are a standby table; answers 503 at once when a bound is reached. */
  hold(ex: Exchange, actor: Actor): void {
    // Gone while its routes were asked: 'close' will not fire again, so it would wait for nothing.
    if (ex.res.destroyed) {
      this.metrics.holdEnded(ex.routes.workloadId, 'disconnected');
      return;
    }
    const key = holdKey(ex.routes.workloadId, ex.target.protonId);
    const held: Held = { ex, actor, onClose: () => this.left(key, held) };
    if (this.closing) {
      this.answer(held, 503, SHUTTING_DOWN.detail, SHUTTING_DOWN.headers);
      return;
    }
    const admission = this.book.admit(key, held, this.now());
    if (admission.kind === 'refused') {
      this.metrics.holdEnded(ex.routes.workloadId, 'overflow');
      const detail =
        admission.reason === 'total-full'
          ? `The gateway already holds ${this.config.DATA_PLANE_HOLD_MAX_TOTAL} requests waiting for replicas to start.`
          : this.config.DATA_PLANE_HOLD_MAX_REQUESTS === 0
            ? `Workload ${ex.routes.workloadId} has no ready replica yet: one is starting.`
            : `Workload ${ex.routes.workloadId} has no ready replica yet and already ${this.config.DATA_PLANE_HOLD_MAX_REQUESTS} requests wait for one.`;
      this.answer(held, 503, detail, { 'retry-after': RETRY_AFTER_S });
      return;
    }
    ex.res.once('close', held.onClose);
    this.signalDemand(key, ex.routes);
    if (admission.first) this.schedule(key);
  }

  /** An event of the workload (scaled, stopped, deleted…): ask its routes now rather than at the next poll. */
  changed(workloadId: string): void {
    const prefix = `${workloadId}\u0000`;
    for (const key of this.book.keys()) {
      if (!key.startsWith(prefix)) continue;
      void this.poll(key);
    }
  }

  /**
   * Before the HTTP server closes, which waits for every open request: a held one would keep it
   * open until its timeout. What is held, or arrives from now on, is answered 503.
   */
  beforeApplicationShutdown(): void {
    this.closing = true;
    this.unwatch();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const key of [...this.book.keys()]) this.settle(key, this.book.release(key), 'shutdown', SHUTTING_DOWN);
  }

  private schedule(key: string): void {
    if (this.timers.has(key) || this.book.count(key) === 0) return;
    const delay = Math.min(this.config.DATA_PLANE_HOLD_POLL_MS, this.book.untilDeadline(key, this.now()));
    this.timers.set(key, setTimeout(() => this.tick(key), delay));
  }

  private tick(key: string): void {
    this.timers.delete(key);
    const expired = this.book.expire(key, this.now());
    if (expired.length > 0) {
      const workloadId = expired[0].ex.routes.workloadId;
      this.settle(key, expired, 'timeout', new ApiError(503, `Workload ${workloadId} has no ready replica: none became ready within ${this.config.DATA_PLANE_HOLD_TIMEOUT_MS} ms while the request was held.`, { 'retry-after': RETRY_AFTER_S }));
    }
    const oldest = this.book.oldest(key);
    if (!oldest) return;
    this.signalDemand(key, oldest.ex.routes);
    void this.poll(key);
    this.schedule(key);
  }

  /** Asks the routes of `key` afresh (one question at a time per key) and releases or refuses what it holds. */
  private async poll(key: string): Promise<void> {
    const oldest = this.book.oldest(key);
    if (!oldest || this.polling.has(key)) return;
    this.polling.add(key);
    const { workloadId } = oldest.ex.routes;
    try {
      this.router.forget(workloadId);
      const routes = await this.router.resolve(workloadId, oldest.ex.target.protonId, oldest.actor);
      if (!routes.standby) this.forward(key, routes);
    } catch (error) {
      if (error instanceof ApiError && [403, 404, 503].includes(error.status)) this.settle(key, this.book.release(key), 'refused', error);
      else this.logger.warn(`routes of held workload ${workloadId} not resolved (asking again): ${error instanceof Error ? error.message : error}`);
    } finally {
      this.polling.delete(key);
    }
  }

  /** Everything held for `key` goes to its replicas, oldest first, as if it had just arrived (its clock kept). */
  private forward(key: string, routes: ReplicaRoutes): void {
    const released = this.book.release(key);
    this.emptied(key);
    for (const held of released) {
      held.ex.res.off('close', held.onClose);
      held.ex.routes = routes;
      this.forwarder.forward(held.ex);
    }
    if (released.length > 0) this.metrics.holdEnded(routes.workloadId, 'forwarded', released.length);
  }

  private settle(key: string, released: Held[], outcome: HoldOutcome, error: ApiError): void {
    if (this.book.count(key) === 0) this.emptied(key);
    for (const held of released) {
      held.ex.res.off('close', held.onClose);
      this.answer(held, error.status, error.detail, error.headers);
    }
    if (released.length > 0) this.metrics.holdEnded(released[0].ex.routes.workloadId, outcome, released.length);
  }

  private left(key: string, held: Held): void {
    if (!this.book.remove(key, held)) return;
    this.metrics.holdEnded(held.ex.routes.workloadId, 'disconnected');
    if (this.book.count(key) === 0) this.emptied(key);
  }

  /** Nothing is held for `key` any more: no timer, and the demand it signalled is withdrawn (held 0). */
  private emptied(key: string): void {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
    const demanded = this.demanded.get(key);
    this.demanded.delete(key);
    if (demanded) this.demand.publishNow(demanded.workloadId, demanded.protonId, 0);
  }

  private signalDemand(key: string, routes: ReplicaRoutes): void {
    // The proton the standby table names is the one scaling up; without one there is no one to tell.
    if (!routes.stable.protonId || !this.book.demandDue(key, this.now())) return;
    this.demanded.set(key, { workloadId: routes.workloadId, protonId: routes.stable.protonId });
    this.demand.publishNow(routes.workloadId, routes.stable.protonId, this.book.count(key));
  }

  private answer(held: Held, status: number, detail: unknown, headers: Record<string, string>): void {
    const { req, res } = held.ex;
    if (res.headersSent || res.destroyed) return;
    // A body still on the wire cannot be skipped on a kept-alive connection: close it after the answer.
    answerDetail(res, status, detail, req.complete ? headers : { ...headers, connection: 'close' });
  }

  private *heldPerWorkload(): Iterable<[string, number]> {
    for (const key of this.book.keys()) yield [key.slice(0, key.indexOf('\u0000')), this.book.count(key)];
  }
}

/** Held requests queue per workload and the proton they select (`?protonId=`, or the active one). */
function holdKey(workloadId: string, protonId: string | null): string {
  return `${workloadId}\u0000${protonId ?? ''}`;
}
