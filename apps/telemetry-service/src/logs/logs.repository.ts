import type { ClickHouseClient } from '@clickhouse/client';
import type { LogLevel } from '@wcp/contracts';
import { LOG_MAX_MS, LOG_MIN_MS, type LogRow } from './log-row';

/** Which lines a search reads: one workload, optionally one proton, a minimum level, a period. */
export interface LogFilter {
  workloadId: string;
  protonId: string | null;
  /** Lines at this level or more severe; null = every level. */
  minLevel: LogLevel | null;
  /** Inclusive; null = unbounded. Epoch ms. */
  startMs: number | null;
  /** Exclusive; null = unbounded. Epoch ms. */
  endMs: number | null;
}

export interface LogPageRequest {
  offset: number;
  limit: number;
}

export interface SqlQuery {
  query: string;
  query_params: Record<string, unknown>;
}

/** One line as the search reads it. */
export interface LogHit {
  timestampMs: number;
  level: LogLevel;
  message: string;
  replica: string;
  protonId: string;
}

/**
 * Stored timestamps lie in [LOG_MIN_MS, LOG_MAX_MS): an absent bound becomes one of these and a
 * given one is clamped to them, so the SQL is the same whatever the request, the key condition
 * always applies, and no bound overflows DateTime64.
 */
const clamp = (ms: number) => Math.min(Math.max(ms, LOG_MIN_MS), LOG_MAX_MS);

function filterSql(db: string): string {
  return `
    FROM ${db}.logs
    WHERE workload_id = {workload_id:String}
      AND timestamp >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')
      AND timestamp < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')
      AND level >= {min_level:String}
      AND ({all_protons:UInt8} = 1 OR proton_id = {proton_id:String})`;
}

function filterParams(f: LogFilter): Record<string, unknown> {
  return {
    workload_id: f.workloadId,
    start_ms: clamp(f.startMs ?? LOG_MIN_MS),
    end_ms: clamp(f.endMs ?? LOG_MAX_MS),
    min_level: f.minLevel ?? 'debug',
    all_protons: f.protonId === null ? 1 : 0,
    proton_id: f.protonId ?? '',
  };
}

/**
 * One page, newest first: timestamp desc, then seq (byte offset) desc, then id desc, so lines
 * of one file read in the same millisecond come in reverse file order and every order is total.
 * `LIMIT 1 BY id` keeps one copy of a redelivered line (the first in this order) before paging,
 * so copies never fill a page. The order is the table's key reversed: ClickHouse reads the
 * workload's range in reverse and stops once the page is full.
 */
export function pageQuery(db: string, f: LogFilter, page: LogPageRequest): SqlQuery {
  const query = `
    SELECT toUnixTimestamp64Milli(timestamp) AS ts_ms, level, message, replica, proton_id
    ${filterSql(db)}
    ORDER BY timestamp DESC, seq DESC, id DESC
    LIMIT 1 BY id
    LIMIT {limit:UInt32} OFFSET {offset:UInt64}`;
  return { query, query_params: { ...filterParams(f), limit: page.limit, offset: page.offset } };
}

/** The number of distinct lines (by id) the same filter selects: `totalCount` of the page. */
export function countQuery(db: string, f: LogFilter): SqlQuery {
  return { query: `SELECT uniqExact(id) AS total ${filterSql(db)}`, query_params: filterParams(f) };
}

interface PageRow {
  ts_ms: number | string;
  level: LogLevel;
  message: string;
  replica: string;
  proton_id: string;
}

/** Reads and writes `<db>.logs`. Every value is a server-side parameter. */
export class LogsRepository {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** The one insert of the logs writer. */
  async insert(rows: LogRow[]): Promise<void> {
    await this.client.insert({
      table: `${this.db}.logs`,
      values: rows,
      format: 'JSONEachRow',
      // Daily partitions: a batch of lines spread over many days (a replica with a wrong clock)
      // must not fail the insert forever and block the topic behind it.
      clickhouse_settings: { max_partitions_per_insert_block: '0' },
    });
  }

  async search(f: LogFilter, page: LogPageRequest): Promise<{ total: number; hits: LogHit[] }> {
    const [counts, rows] = await Promise.all([this.rows<{ total: number | string }>(countQuery(this.db, f)), this.rows<PageRow>(pageQuery(this.db, f, page))]);
    return {
      total: Number(counts[0]?.total ?? 0),
      hits: rows.map((r) => ({ timestampMs: Number(r.ts_ms), level: r.level, message: r.message, replica: r.replica, protonId: r.proton_id })),
    };
  }

  private async rows<T>(q: SqlQuery): Promise<T[]> {
    const result = await this.client.query({ query: q.query, query_params: q.query_params, format: 'JSONEachRow' });
    return result.json<T>();
  }
}
