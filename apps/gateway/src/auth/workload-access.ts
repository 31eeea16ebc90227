import { Inject, Injectable } from '@nestjs/common';
import type { Grants } from '@wcp/access';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';

/** An unknown workload is remembered this briefly: one created a moment ago must be found. */
const ABSENT_CACHE_MS = 250;
const MAX_ENTRIES = 20_000;

interface Entry {
  expires: number;
  grants: Promise<Grants | null>;
}

/**
 * Who holds which role on a workload, as the policy needs it for every route. Cached per
 * workload for ACCESS_CACHE_MS (≤ 2 s), so a hot workload costs one internal call per interval;
 * concurrent misses share one call. A share changed through this gateway takes effect at once
 * (`forget`); one changed through another instance within the TTL. Commands are re-checked by
 * the aggregate against its own stream, so a stale "allowed" never lets a command through.
 */
@Injectable()
export class WorkloadAccess {
  private readonly cache = new Map<string, Entry>();

  constructor(@Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient, @Inject(CONFIG) private readonly config: GatewayConfig) {}

  /** The workload's grants, or null when there is no such workload. */
  grants(workloadId: string, now = Date.now()): Promise<Grants | null> {
    const cached = this.cache.get(workloadId);
    if (cached && cached.expires > now) return cached.grants;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const entry: Entry = { expires: Number.POSITIVE_INFINITY, grants: this.fetch(workloadId) };
    this.cache.set(workloadId, entry);
    entry.grants.then(
      (grants) => {
        entry.expires = Date.now() + (grants ? this.config.ACCESS_CACHE_MS : Math.min(ABSENT_CACHE_MS, this.config.ACCESS_CACHE_MS));
      },
      () => {
        if (this.cache.get(workloadId) === entry) this.cache.delete(workloadId);
      },
    );
    return entry.grants;
  }

  /** Drops the cached roles of a workload whose sharing just changed. */
  forget(workloadId: string): void {
    this.cache.delete(workloadId);
  }

  private async fetch(workloadId: string): Promise<Grants | null> {
    try {
      return (await this.workloads.get<{ grants: Grants }>(`/internal/workloads/${workloadId}/access`, null)).grants;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }
}
