import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, GatewayConfig } from '../config';

/** Token bucket per API token: RATE_LIMIT_PER_MINUTE refill per minute, burst of the same size. */
@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(@Inject(CONFIG) private readonly config: GatewayConfig) {}

  /** Takes one request; returns 0 when allowed, else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    const limit = this.config.RATE_LIMIT_PER_MINUTE;
    if (limit === 0) return 0;
    const perMs = limit / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: limit, at: now };
    bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }
}
