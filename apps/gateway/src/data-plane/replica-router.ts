import type { Actor } from '@wcp/contracts';
import { z } from 'zod';
import type { GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import type { InternalClient } from '../http/internal.client';

/**
 * Where a workload's traffic goes: the ready replicas of its active proton, or of the proton
 * named by `?protonId=`. The workload service answers `GET /internal/workloads/:id/routes`
 * with exactly this JSON (`replicas` empty when none is ready).
 */
export const ReplicaRoutes = z.object({
  workloadId: z.string(),
  protonId: z.string(),
  replicas: z.array(z.object({ replica: z.string(), url: z.string() })),
});
export type ReplicaRoutes = z.infer<typeof ReplicaRoutes>;

/**
 * The data plane's one question to the control plane. Throws ApiError: 404 when the workload
 * (or proton) is not visible to the actor, 403 without the right to invoke it, 503 when no
 * replica is ready. Never returns an empty `replicas`.
 */
export interface ReplicaRouter {
  resolve(workloadId: string, protonId: string | null, actor: Actor): Promise<ReplicaRoutes>;
}

export const REPLICA_ROUTER = Symbol('REPLICA_ROUTER');

/**
 * Refusals (404, 403, 503 "no replica ready") are cached for at most this long: a share granted
 * or a replica that became ready a moment ago must get traffic promptly.
 */
const REFUSAL_CACHE_MS = 250;
const MAX_ENTRIES = 10_000;

interface Entry {
  expires: number;
  result: Promise<ReplicaRoutes>;
}

/**
 * Asks the workload service, caching each answer per (workload, proton, actor) for
 * DATA_PLANE_ROUTE_CACHE_MS so a hot workload costs one internal call per interval, not one
 * per request. Concurrent misses share one call.
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
      () => {
        entry.expires = this.now() + ttl;
      },
      (error: unknown) => {
        const refusal = error instanceof ApiError && (error.status === 404 || error.status === 403 || error.status === 503);
        if (refusal && ttl > 0) entry.expires = this.now() + Math.min(ttl, REFUSAL_CACHE_MS);
        else if (this.cache.get(key) === entry) this.cache.delete(key);
      },
    );
    return entry.result;
  }

  private async fetch(workloadId: string, protonId: string | null, actor: Actor): Promise<ReplicaRoutes> {
    const query = protonId ? `?protonId=${encodeURIComponent(protonId)}` : '';
    const answer = await this.workloads.get<unknown>(`/internal/workloads/${encodeURIComponent(workloadId)}/routes${query}`, actor);
    const parsed = ReplicaRoutes.safeParse(answer);
    if (!parsed.success) throw new ApiError(502, 'The workload service answered an unexpected route table.');
    if (parsed.data.replicas.length === 0) throw new ApiError(503, `Workload ${workloadId} has no ready replica.`);
    return parsed.data;
  }
}
