import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Actor } from '@wcp/contracts';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { RateLimiter } from './rate-limiter';

export const PUBLIC_ROUTE = 'wcp:public';

/** How long after expiry a resolved token may still be used while its lookup is unavailable. */
const STALE_GRACE_MS = 5 * 60_000;

export type AuthedRequest = FastifyRequest & { actor: Actor };

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Bearer API tokens. Only the SHA-256 of a token is looked up or kept; resolved tokens are
 * cached briefly so a burst of requests costs one lookup. Rate limits are per token.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly cache = new Map<string, { actor: Actor | null; expires: number }>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new ApiError(401, 'Missing bearer token: send Authorization: Bearer <api token>.', { 'www-authenticate': 'Bearer' });
    const tokenHash = hashToken(match[1]);
    const actor = await this.resolve(tokenHash);
    if (!actor) throw new ApiError(401, 'Unknown or revoked API token.', { 'www-authenticate': 'Bearer' });
    const retryAfter = this.limiter.take(tokenHash);
    if (retryAfter > 0) throw new ApiError(429, 'Rate limit exceeded for this token.', { 'retry-after': String(retryAfter) });
    request.actor = actor;
    return true;
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
