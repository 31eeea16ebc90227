import type { ClickHouseClient } from '@clickhouse/client';
import { formatDateTime64 } from '../clickhouse/schema.migrator';
import { EMPTY_AGGREGATE, type Aggregate } from './stats-metrics';
import type { Period } from './stats-window';

/** Which records a statistic reads: some workloads, optionally one proton, started in a period. */
export interface Selection {
  workloadIds: string[];
  protonId?: string;
  period: Period;
}

/**
 * How records are grouped. Groups are keyed by a string: '0' for `all`, the bucket index for
 * `step`/`bounds`, the workload id for `workload`.
 */
export type Grouping =
  | { by: 'all' }
  /** Bucket i = [originMs + i·stepMs, …). */
  | { by: 'step'; originMs: number; stepMs: number }
  /** Bucket i starts at bounds[i] (ascending); used for calendar months. */
  | { by: 'bounds'; bounds: number[] }
  | { by: 'workload' };

export interface AggregateOptions {
  /** Computes `responseTime` when set (quantileExactInclusive level, 0..1). */
  quantile?: number;
  /** Threshold of `slow` (ms); Infinity-free, ≥ 0. */
  slowMs?: number;
}

export interface ResetInput {
  workloadId: string;
  protonId?: string;
  windowStartMs?: number;
  windowEndMs?: number;
  resetAtMs: number;
}

export interface SqlQuery {
  query: string;
  query_params: Record<string, unknown>;
}

/** Fixed SQL fragments only: values always travel as server-side parameters. */
const GROUP_EXPR: Record<Grouping['by'], string> = {
  all: `'0'`,
  step: `toString(intDiv(toUnixTimestamp64Milli(started_at) - {g_origin:Int64}, {g_step:Int64}))`,
  bounds: `toString(arrayCount(b -> b <= toUnixTimestamp64Milli(started_at), {g_bounds:Array(Int64)}) - 1)`,
  workload: `toString(workload_id)`,
};

/**
 * The records a statistic may see, after dedup (FINAL keeps one row per record: the earliest
 * arrival) and after stats resets. WHERE runs after FINAL for non-key columns, so the reset test
 * on `arrived_at` sees the surviving row. Resets are read by a scalar subquery in the same query.
 */
function selectionSql(db: string): string {
  return `
    SELECT ${'{group}'} AS g, started_at, duration_ms, status
    FROM ${db}.requests FINAL
    WHERE workload_id IN {workload_ids:Array(String)}
      AND started_at >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')
      AND started_at < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')
      AND ({all_protons:UInt8} = 1 OR proton_id = {proton_id:String})
      AND NOT arrayExists(
        r -> r.1 = workload_id AND (r.2 = '' OR r.2 = proton_id)
          AND toUnixTimestamp64Milli(started_at) >= r.3 AND toUnixTimestamp64Milli(started_at) < r.4
          AND toUnixTimestamp64Milli(arrived_at) <= r.5,
        (SELECT groupArray((
            workload_id, proton_id,
            ifNull(toUnixTimestamp64Milli(window_start), toInt64(-9000000000000000)),
            ifNull(toUnixTimestamp64Milli(window_end), toInt64(9000000000000000)),
            toUnixTimestamp64Milli(reset_at)))
         FROM ${db}.stats_resets WHERE workload_id IN {workload_ids:Array(String)}))`;
}

function baseParams(sel: Selection, grouping: Grouping): Record<string, unknown> {
  const params: Record<string, unknown> = {
    workload_ids: sel.workloadIds,
    start_ms: sel.period.startMs,
    end_ms: sel.period.endMs,
    all_protons: sel.protonId === undefined ? 1 : 0,
    proton_id: sel.protonId ?? '',
  };
  if (grouping.by === 'step') Object.assign(params, { g_origin: grouping.originMs, g_step: grouping.stepMs });
  if (grouping.by === 'bounds') params.g_bounds = grouping.bounds;
  return params;
}

/** SQL of the per-group counts, error counts, quantile and latest start. */
export function aggregateQuery(db: string, sel: Selection, grouping: Grouping, options: AggregateOptions): SqlQuery {
  const quantile = options.quantile === undefined ? 'CAST(NULL AS Nullable(Float64))' : 'quantileExactInclusive({q:Float64})(duration_ms)';
  const query = `
    SELECT g,
      count() AS total,
      countIf(duration_ms > {slow_ms:Float64}) AS slow,
      countIf(status >= 400 AND status < 500) AS user_errors,
      countIf(status >= 500 AND status < 600) AS server_errors,
      ${quantile} AS response_time,
      toUnixTimestamp64Milli(max(started_at)) AS last_ms
    FROM (${selectionSql(db).replace('{group}', GROUP_EXPR[grouping.by])})
    GROUP BY g`;
  const params = baseParams(sel, grouping);
  params.slow_ms = options.slowMs ?? 0;
  if (options.quantile !== undefined) params.q = options.quantile;
  return { query, query_params: params };
}

/**
 * SQL of the peak concurrency per group, from start and end times (not sampled). A request is
 * in flight on [start, start + duration): an end at t and a start at t do not overlap. A request
 * of duration 0 is in flight at its start instant only. Sweep: +1 at each start, −1 at each
 * end, ordered by time and then ends of positive-length requests (k=0), starts (k=1), ends of
 * zero-length ones (k=2); the peak is the largest running sum.
 */
export function peakQuery(db: string, sel: Selection, grouping: Grouping): SqlQuery {
  const query = `
    SELECT g, max(running) AS peak FROM (
      SELECT g, sum(d) OVER (PARTITION BY g ORDER BY t, k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
      FROM (
        SELECT g, ev.1 AS t, ev.2 AS k, sum(ev.3) AS d
        FROM (${selectionSql(db).replace('{group}', GROUP_EXPR[grouping.by])})
        ARRAY JOIN [
          (toFloat64(toUnixTimestamp64Milli(started_at)), toUInt8(1), toInt64(1)),
          (toUnixTimestamp64Milli(started_at) + duration_ms, if(duration_ms > 0, toUInt8(0), toUInt8(2)), toInt64(-1))
        ] AS ev
        GROUP BY g, t, k))
    GROUP BY g`;
  return { query, query_params: baseParams(sel, grouping) };
}

interface AggregateRow {
  g: string;
  total: number | string;
  slow: number | string;
  user_errors: number | string;
  server_errors: number | string;
  response_time: number | null;
  last_ms: number | string | null;
}

/** Reads statistics and records resets. Every value is a server-side parameter. */
export class StatsRepository {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** Aggregates and peak concurrency per group; groups without records are absent. */
  async aggregate(sel: Selection, grouping: Grouping, options: AggregateOptions & { peak?: boolean }): Promise<Map<string, Aggregate>> {
    const result = new Map<string, Aggregate>();
    if (sel.workloadIds.length === 0 || sel.period.endMs <= sel.period.startMs) return result;
    const rows = await this.rows<AggregateRow>(aggregateQuery(this.db, sel, grouping, options));
    for (const r of rows) {
      result.set(r.g, {
        ...EMPTY_AGGREGATE,
        total: Number(r.total),
        slow: Number(r.slow),
        userErrors: Number(r.user_errors),
        serverErrors: Number(r.server_errors),
        responseTime: r.response_time === null ? null : Number(r.response_time),
        lastMs: r.last_ms === null ? null : Number(r.last_ms),
      });
    }
    if (options.peak) {
      const peaks = await this.rows<{ g: string; peak: number | string }>(peakQuery(this.db, sel, grouping));
      for (const p of peaks) {
        const a = result.get(p.g);
        if (a) a.peak = Number(p.peak);
      }
    }
    return result;
  }

  async addReset(reset: ResetInput): Promise<void> {
    await this.client.insert({
      table: `${this.db}.stats_resets`,
      values: [
        {
          workload_id: reset.workloadId,
          proton_id: reset.protonId ?? '',
          window_start: reset.windowStartMs === undefined ? null : formatDateTime64(reset.windowStartMs),
          window_end: reset.windowEndMs === undefined ? null : formatDateTime64(reset.windowEndMs),
          reset_at: formatDateTime64(reset.resetAtMs),
        },
      ],
      format: 'JSONEachRow',
    });
  }

  async ping(): Promise<boolean> {
    return (await this.client.ping()).success;
  }

  private async rows<T>(q: SqlQuery): Promise<T[]> {
    const result = await this.client.query({ query: q.query, query_params: q.query_params, format: 'JSONEachRow' });
    return result.json<T>();
  }
}
