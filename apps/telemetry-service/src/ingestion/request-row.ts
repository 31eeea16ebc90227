import { RequestRecord } from '@wcp/contracts';

/** The columns a row fills, in the order of its fields. */
export const REQUEST_COLUMNS = [
  'id', 'workload_id', 'proton_id', 'replica', 'method', 'path', 'status', 'started_at', 'duration_ms', 'bytes_in', 'bytes_out', 'arrived_at',
] as const;

/**
 * A row of `<db>.requests`: one `TabSeparated` line of REQUEST_COLUMNS, without its newline.
 * Text written once per record: ClickHouse parses TabSeparated several times faster than
 * JSONEachRow, and no object per row is built, kept and serialised again.
 */
export type RequestRow = string;

/** IsoTime's check (`z.iso.datetime({offset: false, precision: 3})` of zod 4), verbatim: request-row.unit.spec.ts compares it with zod's. */
export const ISO_TIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}(?:Z))$/;
const ID = /^[0-9a-f]{24}$/;

/** DateTime64(3) holds 1900..2299; the window (whole years, 1970..2261) keeps every bound query expression in range too. */
const MIN_YEAR = 1970;
const MAX_YEAR = 2261;

/** One-entry cache: every record of a batch shares its arrival time, formatted once. */
let arrivedCache = { ms: Number.NaN, text: '' };
function formatArrived(ms: number): string {
  if (arrivedCache.ms !== ms) {
    const iso = new Date(ms).toISOString();
    arrivedCache = { ms, text: `${iso.slice(0, 10)} ${iso.slice(11, 23)}` };
  }
  return arrivedCache.text;
}

export type ParsedRecord = { ok: true; row: RequestRow } | { ok: false; reason: string };

const isString = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const isInt = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/**
 * The `RequestRecord` schema as plain tests, for the hot path (zod was 7 % of the ingest CPU):
 * true only for values zod accepts (request-row.unit.spec.ts compares both on generated
 * records). A false goes through zod, which decides and gives the reason, so the refusals are
 * zod's exactly.
 */
function isPlainValid(r: Record<string, unknown>): boolean {
  return (
    r.type === 'request.record' &&
    r.schemaVersion === 1 &&
    isString(r.id, 1, 64) &&
    typeof r.workloadId === 'string' && ID.test(r.workloadId) &&
    isString(r.protonId, 0, 64) &&
    isString(r.replica, 0, 128) &&
    isString(r.method, 1, 16) &&
    isString(r.path, 0, 2048) &&
    isInt(r.status, 0, 999) &&
    typeof r.startedAt === 'string' && ISO_TIME.test(r.startedAt) &&
    typeof r.durationMs === 'number' && Number.isFinite(r.durationMs) && r.durationMs >= 0 &&
    isInt(r.bytesIn, 0, Number.MAX_SAFE_INTEGER) &&
    isInt(r.bytesOut, 0, Number.MAX_SAFE_INTEGER)
  );
}

/**
 * TabSeparated escaping: backslash, tab, newline, carriage return and NUL (the insert travels
 * as text, and a NUL would end it early). Other characters go as they are (UTF-8).
 */
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
function tsv(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c]) : s;
}

/**
 * Validates one bus message body and maps it to a row. A record that can never be stored is a
 * value (`ok: false` with a reason) so the consumer dead-letters it instead of blocking.
 * `arrivedAtMs` is the ingestion time that stats resets compare with.
 */
export function parseRequestRecord(value: unknown, arrivedAtMs: number): ParsedRecord {
  let r: RequestRecord;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && isPlainValid(value as Record<string, unknown>)) {
    r = value as RequestRecord;
  } else {
    const parsed = RequestRecord.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return { ok: false, reason: `invalid request record: ${issues.join('; ')}` };
    }
    r = parsed.data;
  }
  // IsoTime fixes the form `YYYY-MM-DDThh:mm:ss.sssZ`: the year is its first four digits.
  const year = Number(r.startedAt.slice(0, 4));
  if (!(year >= MIN_YEAR && year <= MAX_YEAR)) return { ok: false, reason: `invalid request record: startedAt ${r.startedAt} out of range` };
  if (!Number.isFinite(r.durationMs)) return { ok: false, reason: 'invalid request record: durationMs not finite' };
  const startedAt = `${r.startedAt.slice(0, 10)} ${r.startedAt.slice(11, 23)}`;
  return {
    ok: true,
    row: `${tsv(r.id)}\t${r.workloadId}\t${tsv(r.protonId)}\t${tsv(r.replica)}\t${tsv(r.method)}\t${tsv(r.path)}\t${r.status}\t${startedAt}\t${r.durationMs}\t${r.bytesIn}\t${r.bytesOut}\t${formatArrived(arrivedAtMs)}`,
  };
}
