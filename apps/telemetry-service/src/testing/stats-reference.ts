/**
 * Independent, deliberately naive re-implementations of the statistics, for tests only (not
 * built into dist). They read plain arrays and share no code with the SQL path.
 */
export interface RefRecord {
  id: string;
  workloadId: string;
  protonId: string;
  status: number;
  startedMs: number;
  durationMs: number;
  /** Ingestion time of this delivery. */
  arrivedMs: number;
}

export interface RefReset {
  workloadId: string;
  protonId?: string;
  startMs?: number;
  endMs?: number;
  resetAtMs: number;
}

/** One row per id: the earliest delivery wins (what FINAL with the version column keeps). */
export function refDedup(deliveries: RefRecord[]): RefRecord[] {
  const byId = new Map<string, RefRecord>();
  for (const r of deliveries) {
    const seen = byId.get(r.id);
    if (!seen || r.arrivedMs < seen.arrivedMs) byId.set(r.id, r);
  }
  return [...byId.values()];
}

export function refSelect(
  records: RefRecord[],
  resets: RefReset[],
  sel: { workloadIds: string[]; protonId?: string; startMs: number; endMs: number },
): RefRecord[] {
  return records.filter(
    (r) =>
      sel.workloadIds.includes(r.workloadId) &&
      (sel.protonId === undefined || r.protonId === sel.protonId) &&
      r.startedMs >= sel.startMs &&
      r.startedMs < sel.endMs &&
      !resets.some(
        (x) =>
          x.workloadId === r.workloadId &&
          (x.protonId === undefined || x.protonId === r.protonId) &&
          (x.startMs === undefined || r.startedMs >= x.startMs) &&
          (x.endMs === undefined || r.startedMs < x.endMs) &&
          r.arrivedMs <= x.resetAtMs,
      ),
  );
}

/**
 * ClickHouse `quantileExactInclusive(q)`: sorted x (1-based), h = q·(n−1) + 1, result
 * x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]) (linear interpolation, numpy's default), clamped.
 */
export function refQuantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const x = [...values].sort((a, b) => a - b);
  const h = q * (x.length - 1) + 1;
  const n = Math.floor(h);
  if (n >= x.length) return x[x.length - 1];
  if (n < 1) return x[0];
  return x[n - 1] + (h - n) * (x[n] - x[n - 1]);
}

/**
 * Peak requests in flight, by brute force over the candidate instants (every start): a request
 * is in flight at t when start ≤ t < start + duration, or t = start for a zero duration.
 */
export function refPeak(records: Array<{ startedMs: number; durationMs: number }>): number {
  let peak = 0;
  for (const c of records) {
    const t = c.startedMs;
    let n = 0;
    for (const r of records) {
      const end = r.startedMs + r.durationMs;
      if (r.startedMs <= t && (t < end || (r.durationMs === 0 && t === r.startedMs))) n++;
    }
    peak = Math.max(peak, n);
  }
  return peak;
}

export interface RefAggregate {
  total: number;
  slow: number;
  userErrors: number;
  serverErrors: number;
  responseTime: number | null;
  peak: number;
  lastMs: number | null;
}

export function refAggregate(records: RefRecord[], q: number, slowMs: number): RefAggregate {
  return {
    total: records.length,
    slow: records.filter((r) => r.durationMs > slowMs).length,
    userErrors: records.filter((r) => r.status >= 400 && r.status <= 499).length,
    serverErrors: records.filter((r) => r.status >= 500 && r.status <= 599).length,
    responseTime: refQuantile(records.map((r) => r.durationMs), q),
    peak: refPeak(records),
    lastMs: records.length === 0 ? null : Math.max(...records.map((r) => r.startedMs)),
  };
}

export { seeded } from '@wcp/testing';
