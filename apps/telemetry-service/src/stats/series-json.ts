import { DAY_MS } from './stats-window';

/** What a series answer says besides its buckets. */
export interface SeriesHead {
  metric: string;
  protonId: string | null;
  period: { start: string; end: string };
}

const bytes = (text: string): number[] => Array.from(text, (ch) => ch.charCodeAt(0));
const BUCKET_OPEN = bytes('{"period":{"start":"');
const BUCKET_MID = bytes('","end":"');
const BUCKET_VALUE = bytes('"},"value":');
const ISO_LENGTH = 24;
/** Bytes of one bucket but its value, with its leading comma and closing brace. */
const BUCKET_FIXED = 1 + BUCKET_OPEN.length + ISO_LENGTH + BUCKET_MID.length + ISO_LENGTH + BUCKET_VALUE.length + 1;
/** The longest `String(number)` (e.g. `-2.2250738585072014e-308`) is 24 characters. */
const MAX_NUMBER_LENGTH = 24;
const ZERO = 0x30;

/** Byte loops, not Buffer#copy: these pieces are 9–24 bytes, where a native call costs more than the copy. */
function put(out: Buffer, at: number, piece: readonly number[]): number {
  for (let i = 0; i < piece.length; i++) out[at + i] = piece[i];
  return piece.length;
}

/**
 * The JSON of a series answer, byte for byte what `JSON.stringify` makes of
 * `{metric, summary: {protonId, period}, buckets: [{period: {start, end}, value}]}`, written
 * straight into one buffer. A PT1M week is 10 080 buckets: an object per bucket, per period and
 * per bound, their strings and the serialised copy made the answer cost about as much as the
 * query at a million records, most of it young-generation GC. Bucket i is
 * [boundsMs[i], boundsMs[i + 1]) (`boundsMs` has one entry more than `values`, or none); bounds
 * lie in 1970..9999 and are written as `toISOString` writes them.
 */
export function seriesJson(head: SeriesHead, boundsMs: readonly number[], values: ReadonlyArray<number | null>): Buffer {
  const prefix = Buffer.from(`{"metric":${JSON.stringify(head.metric)},"summary":${JSON.stringify({ protonId: head.protonId, period: head.period })},"buckets":[`, 'utf8');
  const out = Buffer.allocUnsafe(prefix.length + values.length * (BUCKET_FIXED + MAX_NUMBER_LENGTH) + 2);
  let at = prefix.copy(out, 0);
  const iso = new IsoWriter();
  let previousEnd = -1;
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    at += put(out, at, BUCKET_OPEN);
    // A bucket's start is the previous bucket's end: each bound is formatted once.
    if (previousEnd < 0) iso.write(out, at, boundsMs[i]);
    else for (let k = 0; k < ISO_LENGTH; k++) out[at + k] = out[previousEnd + k];
    at += ISO_LENGTH;
    at += put(out, at, BUCKET_MID);
    iso.write(out, at, boundsMs[i + 1]);
    previousEnd = at;
    at += ISO_LENGTH;
    at += put(out, at, BUCKET_VALUE);
    at += writeNumber(out, at, values[i]);
    out[at++] = 0x7d; // }
  }
  out[at++] = 0x5d; // ]
  out[at++] = 0x7d; // }
  return out.subarray(0, at);
}

/** Writes `JSON.stringify(value)` at `at` (null for null and non-finite numbers); returns its length. */
function writeNumber(out: Buffer, at: number, value: number | null): number {
  if (value === null || !Number.isFinite(value)) return out.write('null', at, 'latin1');
  if (Number.isInteger(value) && value >= 0 && value < 1e15) {
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    for (let v = value, p = at + digits - 1; p >= at; p--, v = Math.floor(v / 10)) out[p] = ZERO + (v % 10);
    return digits;
  }
  return out.write(String(value), at, 'latin1');
}

/** `toISOString` into a buffer; the date part is formatted again only when the day changes. */
class IsoWriter {
  private day = Number.NaN;
  private readonly date: number[] = [];

  write(out: Buffer, at: number, ms: number): void {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.date.splice(0, 10, ...bytes(new Date(day * DAY_MS).toISOString().slice(0, 10)));
    }
    put(out, at, this.date);
    const t = ms - day * DAY_MS;
    out[at + 10] = 0x54; // T
    two(out, at + 11, Math.floor(t / 3_600_000));
    out[at + 13] = 0x3a; // :
    two(out, at + 14, Math.floor(t / 60_000) % 60);
    out[at + 16] = 0x3a;
    two(out, at + 17, Math.floor(t / 1000) % 60);
    out[at + 19] = 0x2e; // .
    const milli = t % 1000;
    out[at + 20] = ZERO + Math.floor(milli / 100);
    two(out, at + 21, milli % 100);
    out[at + 23] = 0x5a; // Z
  }
}

function two(out: Buffer, at: number, n: number): void {
  out[at] = ZERO + Math.floor(n / 10);
  out[at + 1] = ZERO + (n % 10);
}
