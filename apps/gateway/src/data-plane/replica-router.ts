import type { Actor } from '@wcp/contracts';
import { z } from 'zod';
import type { GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import type { InternalClient } from '../http/internal.client';

const RouteAnswer = z.object({
  replica: z.string(),
  url: z.string(),
  /** Absent in answers of older workload services: the replica belongs to the table's `protonId`. */
  protonId: z.string().optional(),
});

/**
 * The workload service's answer to `GET /internal/workloads/:id/routes`. `replicas` are the
 * ready, routable replicas of the active proton (or of `?protonId=`); during a rolling
 * replacement they include the ready candidate replicas, each with its own `protonId`.
 * `candidate` is set during a canary or blue/green replacement: `percent` % (0..100, may be
 * fractional) of the requests go to its replicas. Absent in older answers: no candidate.
 */
export const RoutesAnswer = z.object({
  workloadId: z.string(),
  protonId: z.string().nullable(),
  replicas: z.array(RouteAnswer),
  candidate: z
    .object({ protonId: z.string(), percent: z.number().min(0).max(100), replicas: z.array(RouteAnswer) })
    .nullish(),
  /**
   * The active proton is autoscaled to zero, or on its way up from zero with no ready replica
   * yet: requests are worth holding (docs/autoscaling.md), not refusing. Absent: false.
   */
  standby: z.boolean().optional(),
});
export type RoutesAnswer = z.infer<typeof RoutesAnswer>;

export interface Replica {
  replica: string;
  url: string;
  /** The proton this replica runs: what its request records carry. */
  protonId: string;
}

/** Replicas served round robin among themselves, keyed per (workload, proton). */
export interface ReplicaGroup {
  protonId: string;
  rotationKey: string;
  replicas: Replica[];
}

/**
 * Where a workload's traffic goes, normalised once per cache interval so the hot path neither
 * parses nor builds keys: `stable` serves what `candidate` (when set) does not take.
 */
export interface ReplicaRoutes {
  workloadId: string;
  stable: ReplicaGroup;
  candidate: (ReplicaGroup & { percent: number }) | null;
  /** No replica is ready and one is on its way (scale from zero): hold the request, do not forward it. */
  standby: boolean;
}

/**
 * The data plane's one question to the control plane. Throws ApiError: 404 when the workload
 * (or proton) is not visible to the actor, 403 without the right to invoke it, 503 when no
 * replica is ready. Returns a table without a replica only on standby (`standby: true`): the
 * proton is scaling up from zero and the caller holds the request (StandbyHolder).
 */
export interface ReplicaRouter {
  resolve(workloadId: string, protonId: string | null, actor: Actor): Promise<ReplicaRoutes>;
  /** Drops what is cached of a workload's routes: it was stopped, deleted or changed, or a replica of it refused a connection. */
  forget(workloadId: string): void;
}

export const REPLICA_ROUTER = Symbol('REPLICA_ROUTER');

/**
 * Refusals (404, 403, 503 "no replica ready") and standby tables are cached for at most this
 * long: a share granted or a replica that became ready a moment ago must get traffic promptly.
 */
const REFUSAL_CACHE_MS = 250;
const MAX_ENTRIES = 10_000;

interface Entry {
  expires: number;
  result: Promise<ReplicaRoutes>;
}

/** The answer as the data plane uses it; every replica names its proton. */
export function normaliseRoutes(answer: RoutesAnswer): ReplicaRoutes {
  const group = (protonId: string, replicas: RoutesAnswer['replicas']): ReplicaGroup => ({
    protonId,
    rotationKey: `${answer.workloadId}/${protonId}`,
    replicas: replicas.map((r) => ({ replica: r.replica, url: r.url, protonId: r.protonId ?? protonId })),
  });
  const { candidate } = answer;
  return {
    workloadId: answer.workloadId,
    stable: group(answer.protonId ?? '', answer.replicas),
    candidate: candidate ? { ...group(candidate.protonId, candidate.replicas), percent: candidate.percent } : null,
    // A ready replica is served even on standby (the first one of a scale from zero).
    standby: answer.standby === true && answer.replicas.length === 0 && !candidate?.replicas.length,
  };
}

/**
 * Asks the workload service, caching each answer per (workload, proton, actor) for
 * DATA_PLANE_ROUTE_CACHE_MS so a hot workload costs one internal call per interval, not one
 * per request. Concurrent misses share one call. The TTL is only the bound: a stop, delete or
 * any other event of the workload, and a replica refusing a connection, drop its entries at
 * once (`forget`, see RouteInvalidation and the forwarder).
 */
export class HttpReplicaRouter implements ReplicaRouter {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly workloads: InternalClient,
    private readonly config: Pick<GatewayConfig, 'DATA_PLANE_ROUTE_CACHE_MS'>,
    private readonly now: () => number = Date.now,
  ) {}

  resolve(workloadId: string, protonId: string | null, actor: Actor): Promise<ReplicaRoutes> {
    const key = `${workloadId}\u0000${protonId ?? ''}\u0000${actor.id}`;
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && cached.expires > now) return cached.result;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const ttl = this.config.DATA_PLANE_ROUTE_CACHE_MS;
    const entry: Entry = { expires: Number.POSITIVE_INFINITY, result: this.fetch(workloadId, protonId, actor) };
    this.cache.set(key, entry);
    entry.result.then(
      (routes) => {
        entry.expires = this.now() + (routes.standby ? Math.min(ttl, REFUSAL_CACHE_MS) : ttl);
      },
      (error: unknown) => {
        const refusal = error instanceof ApiError && (error.status === 404 || error.status === 403 || error.status === 503);
        if (refusal && ttl > 0) entry.expires = this.now() + Math.min(ttl, REFUSAL_CACHE_MS);
        else if (this.cache.get(key) === entry) this.cache.delete(key);
      },
    );
    return entry.result;
  }

  forget(workloadId: string): void {
    const prefix = `${workloadId}\u0000`;
    for (const key of this.cache.keys()) if (key.startsWith(prefix)) this.cache.delete(key);
  }

  private async fetch(workloadId: string, protonId: string | null, actor: Actor): Promise<ReplicaRoutes> {
    const query = protonId ? `?protonId=${encodeURIComponent(protonId)}` : '';
    const answer = await this.workloads.get<unknown>(`/internal/workloads/${encodeURIComponent(workloadId)}/routes${query}`, actor);
    const parsed = RoutesAnswer.safeParse(answer);
    if (!parsed.success) throw new ApiError(502, 'The workload service answered an unexpected route table.');
    const routes = normaliseRoutes(parsed.data);
    if (!routes.standby && routes.stable.replicas.length === 0 && !routes.candidate?.replicas.length) throw new ApiError(503, `Workload ${workloadId} has no ready replica.`);
    return routes;
  }
}
