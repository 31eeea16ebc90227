import { IsoTime, RequestRecord } from '@wcp/contracts';
import { formatDateTime64 } from '../clickhouse/schema.migrator';
import { seeded } from '../testing/stats-reference';
import { ISO_TIME, parseRequestRecord, REQUEST_COLUMNS, type ParsedRecord } from './request-row';

const ARRIVED = Date.parse('2026-03-02T00:00:00.000Z');

/** The mapping as it was: zod, Date.parse, then each column as text, escaped by a different method. */
function oracle(value: unknown): ParsedRecord {
  const parsed = RequestRecord.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reason: `invalid request record: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}` };
  }
  const r = parsed.data;
  const ms = Date.parse(r.startedAt);
  if (!(ms >= Date.UTC(1970, 0, 1) && ms < Date.UTC(2262, 0, 1))) return { ok: false, reason: `invalid request record: startedAt ${r.startedAt} out of range` };
  const text = (s: string) => s.split('\\').join('\\\\').split('\t').join('\\t').split('\n').join('\\n').split('\r').join('\\r').split('\0').join('\\0');
  const columns: Record<(typeof REQUEST_COLUMNS)[number], string> = {
    id: text(r.id), workload_id: r.workloadId, proton_id: text(r.protonId), replica: text(r.replica), method: text(r.method), path: text(r.path),
    status: String(r.status), started_at: formatDateTime64(ms), duration_ms: JSON.stringify(r.durationMs), bytes_in: String(r.bytesIn),
    bytes_out: String(r.bytesOut), arrived_at: formatDateTime64(ARRIVED),
  };
  return { ok: true, row: REQUEST_COLUMNS.map((c) => columns[c]).join('\t') };
}

const valid = () => ({
  type: 'request.record', schemaVersion: 1, id: 'r1', workloadId: 'a'.repeat(24), protonId: 'p', replica: 'replica-0', method: 'POST', path: '/predict',
  status: 200, startedAt: '2026-03-01T12:34:56.789Z', durationMs: 12.5, bytesIn: 512, bytesOut: 2048,
});

const EDGE_VALUES: unknown[] = [
  undefined, null, true, 0, -0, 1, -1, 0.5, 999, 1000, 2 ** 53 - 1, 2 ** 53, Number.NaN, Infinity, -Infinity, 1e-7, 1e21, '', 'x', '1', [], {}, ['a'],
  'a'.repeat(16), 'a'.repeat(17), 'a'.repeat(24), 'a'.repeat(64), 'a'.repeat(65), 'a'.repeat(128), 'a'.repeat(129), 'a'.repeat(2048), 'a'.repeat(2049),
  'A'.repeat(24), 'g'.repeat(24), 'tab\there', 'line\nbreak', 'back\\slash', 'cr\rnul\0', 'é ☃ 😀', '2026-03-01T12:34:56.789Z', 'request.record',
  '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '2261-12-31T23:59:59.999Z', '2262-01-01T00:00:00.000Z', '2024-02-29T00:00:00.000Z',
  '2023-02-29T00:00:00.000Z', '2026-04-31T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000+00:00',
  '0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z',
];

describe('parseRequestRecord', () => {
  it('accepts, refuses (with the same reason) and maps exactly as zod and the old mapping do, on generated records', () => {
    const rand = seeded(11);
    const keys = Object.keys(valid());
    const samples: unknown[] = [valid(), null, undefined, 'text', 42, [], [valid()], { ...valid(), extra: 'ignored' }];
    for (const key of keys) for (const edge of EDGE_VALUES) samples.push({ ...valid(), [key]: edge });
    for (const key of keys) {
      const { [key]: _, ...rest } = valid() as Record<string, unknown>;
      samples.push(rest);
    }
    for (let i = 0; i < 3000; i++) {
      const r: Record<string, unknown> = valid();
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) r[keys[Math.floor(rand() * keys.length)]] = EDGE_VALUES[Math.floor(rand() * EDGE_VALUES.length)];
      samples.push(r);
    }
    for (const sample of samples) expect(parseRequestRecord(sample, ARRIVED)).toEqual(oracle(sample));
  });

  it('ISO_TIME is IsoTime: same verdict on every day of leap and common years and on malformed times', () => {
    const rand = seeded(5);
    const samples: string[] = [];
    for (const year of ['1970', '1900', '2000', '2023', '2024', '2100', '2261', '0000', '0400', '9999']) {
      for (let m = 0; m <= 13; m++) for (let d = 0; d <= 32; d++) samples.push(`${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T12:00:00.000Z`);
    }
    const time = () => `${String(Math.floor(rand() * 26)).padStart(2, '0')}:${String(Math.floor(rand() * 62)).padStart(2, '0')}:${String(Math.floor(rand() * 62)).padStart(2, '0')}`;
    for (let i = 0; i < 2000; i++) samples.push(`2026-01-15T${time()}.${String(Math.floor(rand() * 1000)).padStart(3, '0')}Z`);
    samples.push('2026-01-15T12:00:00.00Z', '2026-01-15T12:00:00.0000Z', '2026-01-15 12:00:00.000Z', '2026-01-15T12:00:00.000z', ' 2026-01-15T12:00:00.000Z', '2026-01-15T12:00:00.000Z\n');
    for (const s of samples) expect([s, ISO_TIME.test(s)]).toEqual([s, IsoTime.safeParse(s).success]);
  });
});
