import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, GatewayConfig } from '../config';

/** The control plane (the REST API) and the data plane (invoking workloads) are limited apart. */
export type Plane = 'control' | 'data';

/**
 * Token bucket per API token and plane: the plane's limit refills per minute, with a burst of
 * the same size. A model endpoint takes thousands of requests a second from one token, so the
 * data plane's limit is its own and far higher by default.
 */
@Injectable()
export class RateLimiter {
  private readonly buckets = { control: new Map<string, Bucket>(), data: new Map<string, Bucket>() };

  constructor(@Inject(CONFIG) private readonly config: GatewayConfig) {}

  /** Takes one request; returns 0 when allowed, else the seconds to wait. */
  take(key: string, plane: Plane = 'control', now = Date.now()): number {
    const limit = plane === 'data' ? this.config.DATA_PLANE_RATE_LIMIT_PER_MINUTE : this.config.RATE_LIMIT_PER_MINUTE;
    if (limit === 0) return 0;
    const perMs = limit / 60_000;
    const buckets = this.buckets[plane];
    let bucket = buckets.get(key);
    if (!bucket) {
      if (buckets.size >= 100_000) buckets.clear();
      bucket = { tokens: limit, at: now };
      buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }
}

interface Bucket {
  tokens: number;
  at: number;
}
