import type { ClickHouseClient } from '@clickhouse/client';
import { formatDateTime64 } from '../clickhouse/schema.migrator';
import type { Aggregate } from './stats-metrics';
import type { Period } from './stats-window';
import { observedQuery } from '../clickhouse/clickhouse.metrics';

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

/**
 * The records a statistic may see. Dedup: FINAL keeps one row per record (the earliest
 * arrival); it only merges where parts overlap, and a quiet partition is force-merged into one
 * part (migration 004), which FINAL reads as is (`do_not_merge_across_partitions_select_final`
 * is safe: all copies of a record share `started_at`, hence the partition).
 *
 * Resets, when one may apply (see `StatsRepository.mayHaveResets`): a scalar subquery (run
 * once, before the scan) collects the resets that can exclude a selected record: same
 * workload, proton unset or the selected one (any, when none is selected), window overlapping
 * the period. With none, `empty(resets)` is a constant true and the per-row test is never
 * evaluated (short-circuit `OR`). WHERE runs after FINAL for non-key columns, so the test on
 * `arrived_at` sees the surviving row.
 */
function resetsCte(db: string): string {
  return `
    WITH (
      SELECT groupArray((workload_id, proton_id,
          ifNull(toUnixTimestamp64Milli(window_start), toInt64(-9000000000000000)),
          ifNull(toUnixTimestamp64Milli(window_end), toInt64(9000000000000000)),
          toUnixTimestamp64Milli(reset_at)))
      FROM ${db}.stats_resets
      WHERE workload_id IN {workload_ids:Array(String)}
        AND ({all_protons:UInt8} = 1 OR proton_id = '' OR proton_id = {proton_id:String})
        AND (window_start IS NULL OR window_start < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC'))
        AND (window_end IS NULL OR window_end > fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC'))
    ) AS resets`;
}

const SELECTION_WHERE = `
    WHERE workload_id IN {workload_ids:Array(String)}
      AND started_at >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')
      AND started_at < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')
      AND ({all_protons:UInt8} = 1 OR proton_id = {proton_id:String})`;

const RESETS_WHERE = `
      AND (empty(resets) OR NOT arrayExists(
        r -> r.1 = workload_id AND (r.2 = '' OR r.2 = proton_id)
          AND toUnixTimestamp64Milli(started_at) >= r.3 AND toUnixTimestamp64Milli(started_at) < r.4
          AND toUnixTimestamp64Milli(arrived_at) <= r.5,
        resets))`;

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

/**
 * SQL of the per-group count and the requested measures: one pass over the selected rows.
 * `resets` false: no selected workload has a reset, so the query neither reads `stats_resets`
 * nor tests a row against it.
 */
export function aggregateQuery(db: string, sel: Selection, grouping: Grouping, options: AggregateOptions, resets = true): SqlQuery {
  const measures = (options.measures ?? ALL_MEASURES).filter((m) => m !== 'quantile' || options.quantile !== undefined);
  const query = `${resets ? resetsCte(db) : ''}
    SELECT ${GROUP_EXPR[grouping.by]} AS g, count() AS total${measures.map((m) => `, ${MEASURE_SQL[m]}`).join('')}
    FROM ${db}.requests FINAL${SELECTION_WHERE}${resets ? RESETS_WHERE : ''}
    GROUP BY g
    ${QUERY_SETTINGS}`;
  const params = baseParams(sel, grouping);
  if (measures.includes('slow')) params.slow_ms = options.slowMs ?? 0;
  if (measures.includes('quantile')) params.q = options.quantile;
  return { query, query_params: params };
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

/** `Aggregate` fields of every bucket of a series, indexed by bucket; NaN = no quantile. */
export interface BucketColumns {
  total: Float64Array;
  slow: Float64Array;
  userErrors: Float64Array;
  serverErrors: Float64Array;
  responseTime: Float64Array;
  peak: Float64Array;
}

const num = (column: Array<number | string> | undefined, i: number): number => (column ? Number(column[i]) : 0);
const nullable = (column: Array<number | string | null> | undefined, i: number): number | null =>
  column === undefined || column[i] === null ? null : Number(column[i]);

/**
 * Workloads this process wrote a reset for, per database: process-wide, so every repository
 * over the one engine a process binds (libchdb binds one data dir) sees every reset written
 * through any of them. Only ever grows: a workload listed without a reset costs the subquery,
 * never a wrong answer.
 */
const resetHere = new Map<string, Set<string>>();
const resetHereIn = (db: string): Set<string> => {
  let set = resetHere.get(db);
  if (!set) resetHere.set(db, (set = new Set()));
  return set;
};

/** Reads statistics and records resets. Every value is a server-side parameter. */
export class StatsRepository {
  /** Workloads with a reset in the table when first asked (see mayHaveResets); null until then or after a failed read. */
  private resetInTable: Promise<Set<string>> | null = null;

  /**
   * `soleWriter`: no other process writes `stats_resets` (embedded chDB: its data dir is locked
   * to one process), so which workloads have resets can be known here without asking per query.
   */
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
    private readonly soleWriter = false,
  ) {}

  /**
   * Whether a reset may apply to these workloads, i.e. whether the query must carry the reset
   * subquery and filter (~4 ms of a 12 ms PT1M series at 1 M records, for a workload that has
   * none). Sole writer: the workloads that had a reset when the table was first read, plus
   * those reset since through this process (listed before the insert) — a superset of the
   * truth, so a statistic asked after a reset answered always sees it. With
   * other writers (several instances on one ClickHouse server) only the table knows: always
   * true, and the query asks it.
   */
  async mayHaveResets(workloadIds: readonly string[]): Promise<boolean> {
    if (!this.soleWriter) return true;
    const here = resetHereIn(this.db);
    if (workloadIds.some((id) => here.has(id))) return true;
    const inTable = await this.resetWorkloadsInTable();
    return workloadIds.some((id) => inTable.has(id));
  }

  private resetWorkloadsInTable(): Promise<Set<string>> {
    if (!this.resetInTable) {
      const reading = this.columns<{ workload_id: string[] }>({ query: `SELECT DISTINCT workload_id FROM ${this.db}.stats_resets`, query_params: {} }).then(
        (c) => new Set(c.workload_id ?? []),
      );
      this.resetInTable = reading;
      reading.catch(() => {
        if (this.resetInTable === reading) this.resetInTable = null;
      });
    }
    return this.resetInTable;
  }

  /** Aggregates and peak concurrency per group; groups without records are absent. */
  async aggregate(sel: Selection, grouping: Grouping, options: AggregateOptions): Promise<Map<string, Aggregate>> {
    const result = new Map<string, Aggregate>();
    if (sel.workloadIds.length === 0 || sel.period.endMs <= sel.period.startMs) return result;
    const resets = await this.mayHaveResets(sel.workloadIds);
    const c = await observedQuery(grouping.by, () => this.columns<AggregateColumns>(aggregateQuery(this.db, sel, grouping, options, resets)));
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

  /**
   * A series' aggregates as dense columns by bucket index (0, and NaN for the quantile, where a
   * bucket has no record): no Map, no string key and no object per bucket.
   */
  async aggregateBuckets(sel: Selection, grouping: Grouping & { by: 'step' | 'bounds' }, options: AggregateOptions, bucketCount: number): Promise<BucketColumns> {
    const out: BucketColumns = {
      total: new Float64Array(bucketCount),
      slow: new Float64Array(bucketCount),
      userErrors: new Float64Array(bucketCount),
      serverErrors: new Float64Array(bucketCount),
      responseTime: new Float64Array(bucketCount).fill(Number.NaN),
      peak: new Float64Array(bucketCount),
    };
    if (sel.workloadIds.length === 0 || sel.period.endMs <= sel.period.startMs) return out;
    const resets = await this.mayHaveResets(sel.workloadIds);
    const c = await observedQuery(grouping.by, () => this.columns<AggregateColumns>(aggregateQuery(this.db, sel, grouping, options, resets)));
    const g = c.g ?? [];
    const scatter = (to: Float64Array, from: Array<number | string | null> | undefined) => {
      if (!from) return;
      for (let i = 0; i < g.length; i++) {
        const v = from[i];
        if (v !== null) to[Number(g[i])] = Number(v);
      }
    };
    scatter(out.total, c.total);
    scatter(out.slow, c.slow);
    scatter(out.userErrors, c.user_errors);
    scatter(out.serverErrors, c.server_errors);
    scatter(out.responseTime, c.response_time);
    scatter(out.peak, c.peak);
    return out;
  }

  async addReset(reset: ResetInput): Promise<void> {
    // Before the insert: an insert that fails after it wrote must not leave the workload unlisted.
    resetHereIn(this.db).add(reset.workloadId);
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

  /**
   * One array per column, parsed at once. A PT1M series has 10 080 groups: row objects (or
   * per-row parsing) cost more than the query itself at a million records.
   */
  private async columns<T>(q: SqlQuery): Promise<Partial<T>> {
    const result = await this.client.query({
      query: q.query,
      query_params: q.query_params,
      format: 'JSONColumnsWithMetadata',
      // Counts and bucket indexes as JSON numbers (parsed into packed double arrays), not one
      // string each: every count here is far below 2^53.
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    // The client types this format as rows; it is one object `{meta, data: {column: values}}`.
    return ((await result.json()) as unknown as { data: Partial<T> }).data;
  }
}
