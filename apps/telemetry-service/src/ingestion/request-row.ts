import { RequestRecord } from '@wcp/contracts';
import { formatDateTime64 } from '../clickhouse/schema.migrator';

/** A row of `<db>.requests` as JSONEachRow sends it. */
export interface RequestRow {
  id: string;
  workload_id: string;
  proton_id: string;
  replica: string;
  method: string;
  path: string;
  status: number;
  started_at: string;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
  arrived_at: string;
}

/** DateTime64(3) holds 1900..2299; the window keeps every bound query expression in range too. */
const MIN_MS = Date.UTC(1970, 0, 1);
const MAX_MS = Date.UTC(2262, 0, 1);

/** One-entry cache: every record of a batch shares its arrival time, formatted once. */
let arrivedCache = { ms: Number.NaN, text: '' };
function formatArrived(ms: number): string {
  if (arrivedCache.ms !== ms) arrivedCache = { ms, text: formatDateTime64(ms) };
  return arrivedCache.text;
}

export type ParsedRecord = { ok: true; row: RequestRow } | { ok: false; reason: string };

/**
 * Validates one bus message body and maps it to a row. A record that can never be stored is a
 * value (`ok: false` with a reason) so the consumer dead-letters it instead of blocking.
 * `arrivedAtMs` is the ingestion time that stats resets compare with.
 */
export function parseRequestRecord(value: unknown, arrivedAtMs: number): ParsedRecord {
  const parsed = RequestRecord.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return { ok: false, reason: `invalid request record: ${issues.join('; ')}` };
  }
  const r = parsed.data;
  const startedMs = Date.parse(r.startedAt);
  if (!(startedMs >= MIN_MS && startedMs < MAX_MS)) return { ok: false, reason: `invalid request record: startedAt ${r.startedAt} out of range` };
  if (!Number.isFinite(r.durationMs)) return { ok: false, reason: 'invalid request record: durationMs not finite' };
  return {
    ok: true,
    row: {
      id: r.id,
      workload_id: r.workloadId,
      proton_id: r.protonId,
      replica: r.replica,
      method: r.method,
      path: r.path,
      status: r.status,
      started_at: formatDateTime64(startedMs),
      duration_ms: r.durationMs,
      bytes_in: r.bytesIn,
      bytes_out: r.bytesOut,
      arrived_at: formatArrived(arrivedAtMs),
    },
  };
}
