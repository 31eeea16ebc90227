import type { ClickHouseClient } from '@clickhouse/client';
import { formatDateTime64 } from '../clickhouse/schema.migrator';
import type { Aggregate } from './stats-metrics';
import type { Period } from './stats-window';

/** Which records a statistic reads: some workloads, optionally one proton, started in a period. */
export interface Selection {
  workloadIds: string[];
  protonId?: string;
  period: Period;
}

/**
 * How records are grouped. Groups are keyed by a string: '0' for `all`, the bucket index for
 * `step`/`bounds` (computed as Int64, which JSON output quotes), the workload id for `workload`.
 */
export type Grouping =
  | { by: 'all' }
  /** Bucket i = [originMs + i·stepMs, …). */
  | { by: 'step'; originMs: number; stepMs: number }
  /** Bucket i starts at bounds[i] (ascending); used for calendar months. */
  | { by: 'bounds'; bounds: number[] }
  | { by: 'workload' };

/** Optional columns of an aggregate; `total` is always computed. */
export type Measure = 'slow' | 'errors' | 'quantile' | 'peak' | 'last';
export const ALL_MEASURES: readonly Measure[] = ['slow', 'errors', 'quantile', 'peak', 'last'];

export interface AggregateOptions {
  /** Computes `responseTime` when set (quantileExactInclusive level, 0..1) and measured. */
  quantile?: number;
  /** Threshold of `slow` (ms); Infinity-free, ≥ 0. */
  slowMs?: number;
  /**
   * What to compute besides `total` (default: everything). A series needs one metric: skipping
   * the others saves a pass of aggregate states over every row and 10 080 rows of output.
   */
  measures?: readonly Measure[];
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
  step: `intDiv(toUnixTimestamp64Milli(started_at) - {g_origin:Int64}, {g_step:Int64})`,
  bounds: `toInt64(arrayCount(b -> b <= toUnixTimestamp64Milli(started_at), {g_bounds:Array(Int64)})) - 1`,
  workload: `toString(workload_id)`,
};

/** A stored reset as the SQL filter reads it: (workload, proton or '', window start, window end, resetAt), ms. */
export type ResetTuple = [workloadId: string, protonId: string, windowStartMs: number, windowEndMs: number, resetAtMs: number];

/** Stand-ins for an unbounded reset window, inside Int64 and beyond any DateTime64(3) value. */
const UNBOUNDED_START = -9_000_000_000_000_000;
const UNBOUNDED_END = 9_000_000_000_000_000;

/**
 * The resets that can exclude a record of `sel`: same workload, proton unset or the selected one
 * (any proton when none is selected), window overlapping the period. The others cannot match any
 * selected record, so dropping them changes no result; with none left the query skips the filter.
 */
export function applicableResets(resets: ResetTuple[], sel: Selection): ResetTuple[] {
  return resets.filter(
    ([w, p, ws, we]) =>
      sel.workloadIds.includes(w) &&
      (p === '' || sel.protonId === undefined || p === sel.protonId) &&
      ws < sel.period.endMs &&
      we > sel.period.startMs,
  );
}

/**
 * The records a statistic may see. Dedup: FINAL keeps one row per record (the earliest
 * arrival); it only merges where parts overlap, and a quiet partition is force-merged into one
 * part (migration 004), which FINAL reads as is (`do_not_merge_across_partitions_select_final`
 * is safe: all copies of a record share `started_at`, hence the partition). Resets: present
 * only when `resets` is non-empty (the caller passes the applicable ones, usually none), so a
 * workload without resets pays nothing for them. WHERE runs after FINAL for non-key columns,
 * so the reset test on `arrived_at` sees the surviving row.
 */
function selectionWhere(withResets: boolean): string {
  const resetFilter = withResets
    ? `
      AND NOT (arrived_at <= fromUnixTimestamp64Milli({max_reset_ms:Int64}, 'UTC') AND arrayExists(
        (w, p, ws, we, at) -> w = workload_id AND (p = '' OR p = proton_id)
          AND toUnixTimestamp64Milli(started_at) >= ws AND toUnixTimestamp64Milli(started_at) < we
          AND toUnixTimestamp64Milli(arrived_at) <= at,
        {r_workload:Array(String)}, {r_proton:Array(String)}, {r_start:Array(Int64)}, {r_end:Array(Int64)}, {r_at:Array(Int64)}))`
    : '';
  return `
    WHERE workload_id IN {workload_ids:Array(String)}
      AND started_at >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')
      AND started_at < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')
      AND ({all_protons:UInt8} = 1 OR proton_id = {proton_id:String})${resetFilter}`;
}

function baseParams(sel: Selection, grouping: Grouping, resets: ResetTuple[]): Record<string, unknown> {
  const params: Record<string, unknown> = {
    workload_ids: sel.workloadIds,
    start_ms: sel.period.startMs,
    end_ms: sel.period.endMs,
    all_protons: sel.protonId === undefined ? 1 : 0,
    proton_id: sel.protonId ?? '',
  };
  if (grouping.by === 'step') Object.assign(params, { g_origin: grouping.originMs, g_step: grouping.stepMs });
  if (grouping.by === 'bounds') params.g_bounds = grouping.bounds;
  if (resets.length > 0) {
    // Parallel arrays rather than an Array(Tuple): plain arrays bind the same on every connection.
    Object.assign(params, {
      r_workload: resets.map((r) => r[0]),
      r_proton: resets.map((r) => r[1]),
      r_start: resets.map((r) => r[2]),
      r_end: resets.map((r) => r[3]),
      r_at: resets.map((r) => r[4]),
    });
    params.max_reset_ms = Math.max(...resets.map((r) => r[4]));
  }
  return params;
}

/**
 * Peak concurrency, exact, from start and end times (not sampled). A request is in flight on
 * [start, start + duration): an end at t and a start at t do not overlap. `maxIntersections`
 * sorts (point, ±1) pairs, so at equal points ends (−1) come before starts (+1): half-open
 * intervals. A zero-length request is in flight at its start instant only: its end is the next
 * Float64 after its start (bit pattern + 1; starts are ≥ 0), which sorts after every start at t
 * and before anything later, and no start can fall on it (starts are whole milliseconds).
 */
const START_MS = 'toFloat64(toUnixTimestamp64Milli(started_at))';
const PEAK_EXPR = `maxIntersections(${START_MS}, if(duration_ms > 0, ${START_MS} + duration_ms, reinterpretAsFloat64(reinterpretAsUInt64(${START_MS}) + 1)))`;

/** Duplicates never span partitions (see selectionWhere), so FINAL need not merge across them. */
const QUERY_SETTINGS = 'SETTINGS do_not_merge_across_partitions_select_final = 1';

/** The SQL of each optional measure, and the aggregate field it fills. */
const MEASURE_SQL: Record<Measure, string> = {
  slow: 'countIf(duration_ms > {slow_ms:Float64}) AS slow',
  errors: 'countIf(status >= 400 AND status < 500) AS user_errors, countIf(status >= 500 AND status < 600) AS server_errors',
  quantile: 'quantileExactInclusive({q:Float64})(duration_ms) AS response_time',
  peak: `${PEAK_EXPR} AS peak`,
  last: 'toUnixTimestamp64Milli(max(started_at)) AS last_ms',
};

/** SQL of the per-group count and the requested measures: one pass over the selected rows. */
export function aggregateQuery(db: string, sel: Selection, grouping: Grouping, options: AggregateOptions, resets: ResetTuple[] = []): SqlQuery {
  const measures = (options.measures ?? ALL_MEASURES).filter((m) => m !== 'quantile' || options.quantile !== undefined);
  const query = `
    SELECT ${GROUP_EXPR[grouping.by]} AS g, count() AS total${measures.map((m) => `, ${MEASURE_SQL[m]}`).join('')}
    FROM ${db}.requests FINAL${selectionWhere(resets.length > 0)}
    GROUP BY g
    ${QUERY_SETTINGS}`;
  const params = baseParams(sel, grouping, resets);
  if (measures.includes('slow')) params.slow_ms = options.slowMs ?? 0;
  if (measures.includes('quantile')) params.q = options.quantile;
  return { query, query_params: params };
}

/** SQL of the stored resets of the selected workloads (a small table keyed by workload). */
export function resetsQuery(db: string, workloadIds: string[]): SqlQuery {
  return {
    query: `
      SELECT workload_id, proton_id,
        ifNull(toUnixTimestamp64Milli(window_start), toInt64(${UNBOUNDED_START})) AS ws,
        ifNull(toUnixTimestamp64Milli(window_end), toInt64(${UNBOUNDED_END})) AS we,
        toUnixTimestamp64Milli(reset_at) AS at
      FROM ${db}.stats_resets
      WHERE workload_id IN {workload_ids:Array(String)}`,
    query_params: { workload_ids: workloadIds },
  };
}

/** An aggregate answer by column (`JSONColumns`): one array per selected column. */
interface AggregateColumns {
  g: Array<string | number>;
  total: Array<number | string>;
  slow?: Array<number | string>;
  user_errors?: Array<number | string>;
  server_errors?: Array<number | string>;
  response_time?: Array<number | null>;
  last_ms?: Array<number | string | null>;
  peak?: Array<number | string>;
}

const num = (column: Array<number | string> | undefined, i: number): number => (column ? Number(column[i]) : 0);
const nullable = (column: Array<number | string | null> | undefined, i: number): number | null =>
  column === undefined || column[i] === null ? null : Number(column[i]);

/** Reads statistics and records resets. Every value is a server-side parameter. */
export class StatsRepository {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** Aggregates and peak concurrency per group; groups without records are absent. */
  async aggregate(sel: Selection, grouping: Grouping, options: AggregateOptions): Promise<Map<string, Aggregate>> {
    const result = new Map<string, Aggregate>();
    if (sel.workloadIds.length === 0 || sel.period.endMs <= sel.period.startMs) return result;
    const resets = applicableResets(await this.resets(sel.workloadIds), sel);
    const c = await this.columns<AggregateColumns>(aggregateQuery(this.db, sel, grouping, options, resets));
    for (let i = 0; i < (c.g?.length ?? 0); i++) {
      const g = c.g as AggregateColumns['g'];
      const total = c.total as AggregateColumns['total'];
      result.set(String(g[i]), {
        total: Number(total[i]),
        slow: num(c.slow, i),
        userErrors: num(c.user_errors, i),
        serverErrors: num(c.server_errors, i),
        responseTime: nullable(c.response_time, i),
        lastMs: nullable(c.last_ms, i),
        peak: num(c.peak, i),
      });
    }
    return result;
  }

  /** The stored resets of these workloads (usually none: one small indexed read). */
  async resets(workloadIds: string[]): Promise<ResetTuple[]> {
    const rows = await this.rows<{ workload_id: string; proton_id: string; ws: number | string; we: number | string; at: number | string }>(resetsQuery(this.db, workloadIds));
    return rows.map((r) => [r.workload_id, r.proton_id, Number(r.ws), Number(r.we), Number(r.at)]);
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

  /** `JSON` format: one parse of the whole answer. */
  private async rows<T>(q: SqlQuery): Promise<T[]> {
    const result = await this.client.query({ query: q.query, query_params: q.query_params, format: 'JSON' });
    return (await result.json<T>()).data;
  }

  /**
   * One array per column, parsed at once. A PT1M series has 10 080 groups: row objects (or
   * per-row parsing) cost more than the query itself at a million records.
   */
  private async columns<T>(q: SqlQuery): Promise<Partial<T>> {
    const result = await this.client.query({ query: q.query, query_params: q.query_params, format: 'JSONColumnsWithMetadata' });
    // The client types this format as rows; it is one object `{meta, data: {column: values}}`.
    return ((await result.json()) as unknown as { data: Partial<T> }).data;
  }
}
