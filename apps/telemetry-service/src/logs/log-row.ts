import { LogBatch, type LogLevel } from '@wcp/contracts';
import { formatDateTime64 } from '../clickhouse/schema.migrator';

/** A row of `<db>.logs` as JSONEachRow sends it. */
export interface LogRow {
  workload_id: string;
  proton_id: string;
  replica: string;
  container: string;
  id: string;
  seq: number;
  timestamp: string;
  stream: 'stdout' | 'stderr';
  level: LogLevel;
  message: string;
  truncated: boolean;
}

/**
 * Line timestamps the table can hold and expire: the TTL is computed on `DateTime` (1970..2105).
 * Search bounds are clamped to the same window, which keeps their meaning.
 */
export const LOG_MIN_MS = Date.UTC(1970, 0, 1);
export const LOG_MAX_MS = Date.UTC(2106, 0, 1);

export type ParsedBatch = { ok: true; rows: LogRow[] } | { ok: false; reason: string };

/**
 * The byte offset at the end of a line id (`<instance>:<stream>:<generation>:<byteOffset>`),
 * which orders lines of one file read in the same millisecond. 0 for an id without a decimal
 * tail: such lines still sort deterministically, by id.
 */
export function seqOf(id: string): number {
  const tail = id.slice(id.lastIndexOf(':') + 1);
  if (!/^\d{1,15}$/.test(tail)) return 0;
  return Number(tail);
}

/**
 * Validates one bus message body and maps its lines to rows. A batch that can never be stored
 * is a value (`ok: false` with a reason) so the consumer dead-letters it instead of blocking;
 * the batch is the unit, as the shipper published it.
 */
export function parseLogBatch(value: unknown): ParsedBatch {
  const parsed = LogBatch.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return { ok: false, reason: `invalid log batch: ${issues.join('; ')}` };
  }
  const b = parsed.data;
  const rows: LogRow[] = [];
  for (const [i, line] of b.lines.entries()) {
    const ms = Date.parse(line.timestamp);
    if (!(ms >= LOG_MIN_MS && ms < LOG_MAX_MS)) return { ok: false, reason: `invalid log batch: lines.${i}.timestamp ${line.timestamp} out of range` };
    rows.push({
      workload_id: b.workloadId,
      proton_id: b.protonId,
      replica: b.replica,
      container: b.container,
      id: line.id,
      seq: seqOf(line.id),
      timestamp: formatDateTime64(ms),
      stream: line.stream,
      level: line.level,
      message: line.message,
      truncated: line.truncated,
    });
  }
  return { ok: true, rows };
}
