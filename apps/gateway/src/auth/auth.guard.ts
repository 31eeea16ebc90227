import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { accessRefusal, policyFor, RouteRule, workloadNotFound } from '@wcp/access';
import { Actor, ID_PATTERN, Permission } from '@wcp/contracts';
import type { FastifyRequest } from 'fastify';
import * as crypto from 'node:crypto';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError, fromDomainError } from '../http/api-error';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { Plane, RateLimiter } from './rate-limiter';
import { WorkloadAccess } from './workload-access';

/** How long after expiry a resolved token may still be used while its lookup is unavailable. */
const STALE_GRACE_MS = 5 * 60_000;

export type AuthedRequest = FastifyRequest & {
  actor: Actor;
  /** On a route the workload service decides: the gateway's own answer to "may the caller?" (null: yes). */
  accessCheck?: () => Promise<ApiError | null>;
};

/** `crypto.hash` (node ≥ 20.12) digests without a Hash object per call; the engines field still allows 20.11. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function hashToken(token: string): string {
  return oneShotHash ? oneShotHash('sha256', token, 'hex') : crypto.createHash('sha256').update(token).digest('hex');
}

/**
 * The one gate of every route: the route's rule from `ROUTE_POLICY` (none → refused), then the
 * bearer token (401), the plane's rate limit (429), and for a workload route the gateway decides
 * (statistics, logs, the data plane) the caller's role on it through `accessRefusal` (404 when
 * they may not see it, 403 naming the permission); the workload service decides its own routes.
 * Only the SHA-256 of a token is looked up or kept; resolved tokens are cached for
 * AUTH_CACHE_MS (≤ 2 s: the bound on how late another gateway sees a membership change) so a
 * burst of requests costs one lookup.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly cache = new Map<string, { actor: Actor | null; expires: number }>();

  constructor(
    @Inject(CONFIG) private readonly config: GatewayConfig,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    private readonly limiter: RateLimiter,
    private readonly access: WorkloadAccess,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const route = request.routeOptions.url ?? '';
    const rule = policyFor(request.method, route);
    // The gateway does not boot with an unpoliced route; this only guards against a bypass.
    if (!rule) throw new Error(`No authorization policy for ${request.method} ${route}`);
    await this.admit(request, rule, 'control');
    return true;
  }

  /** Applies `rule` to the request; sets `request.actor` when the rule needs a token. */
  async admit(request: AuthedRequest, rule: RouteRule, plane: Plane): Promise<void> {
    if (rule.auth === 'public') return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new ApiError(401, 'Missing bearer token: send Authorization: Bearer <api token>.', { 'www-authenticate': 'Bearer' });
    const tokenHash = hashToken(match[1]);
    const actor = this.cached(tokenHash) ?? (await this.resolve(tokenHash));
    if (!actor) throw new ApiError(401, 'Unknown or revoked API token.', { 'www-authenticate': 'Bearer' });
    const retryAfter = this.limiter.take(tokenHash, plane);
    if (retryAfter > 0) throw new ApiError(429, `Rate limit of the ${plane} plane exceeded for this token.`, { 'retry-after': String(retryAfter) });
    request.actor = actor;
    if (rule.auth === 'admin' && !actor.isAdmin) throw new ApiError(403, 'Only administrators can manage users, groups and organizations.');
    if (rule.auth !== 'workload') return;
    const workloadId = (request.params as Record<string, string | undefined>)[rule.param] ?? '';
    // A path id that is not ObjectId-shaped cannot name anything: 404, like an unknown one.
    if (!ID_PATTERN.test(workloadId)) throw new ApiError(404, `Workload ${workloadId} was not found.`);
    const check = () => this.refusal(workloadId, actor, rule.permission);
    if (rule.by === 'gateway') {
      const refusal = await check();
      if (refusal) throw refusal;
      return;
    }
    // The workload service decides; a request the gateway itself refuses as invalid asks here
    // first, so a caller without access still learns nothing but 404/403 (ApiExceptionFilter).
    request.accessCheck = check;
  }

  private async refusal(workloadId: string, actor: Actor, permission: Permission): Promise<ApiError | null> {
    const grants = await this.access.grants(workloadId);
    const refusal = grants ? accessRefusal(grants, actor, permission, workloadId) : workloadNotFound(workloadId);
    return refusal ? fromDomainError(refusal) : null;
  }

  /** Drops the cached identity of a user whose groups or organization just changed. */
  forgetUser(userId: string): void {
    for (const [tokenHash, entry] of this.cache) if (entry.actor?.id === userId) this.cache.delete(tokenHash);
  }

  /** The actor of a token resolved within AUTH_CACHE_MS, without a promise: the data plane asks this for every request. */
  private cached(tokenHash: string): Actor | undefined {
    const cached = this.cache.get(tokenHash);
    return cached && cached.actor && cached.expires > Date.now() ? cached.actor : undefined;
  }

  private async resolve(tokenHash: string): Promise<Actor | null> {
    const now = Date.now();
    const cached = this.cache.get(tokenHash);
    if (cached && cached.expires > now) return cached.actor;
    let actor: Actor | null = null;
    try {
      actor = await this.workloads.post<Actor>('/internal/auth/resolve', { tokenHash }, null);
    } catch (error) {
      // While the workload service is unreachable, a token it vouched for recently stays valid,
      // so commands can still be queued in Kafka (and answered 504) rather than refused.
      if (error instanceof ApiError && error.status === 503 && cached?.actor && now - cached.expires < STALE_GRACE_MS) return cached.actor;
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    // Unknown tokens are cached for less time: a token created a moment ago must work soon.
    this.cache.set(tokenHash, { actor, expires: now + (actor ? this.config.AUTH_CACHE_MS : Math.min(500, this.config.AUTH_CACHE_MS)) });
    return actor;
  }
}
