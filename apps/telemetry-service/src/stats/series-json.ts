import { DAY_MS } from './stats-window';

/** What a series answer says besides its buckets. */
export interface SeriesHead {
  metric: string;
  protonId: string | null;
  period: { start: string; end: string };
}

const ISO_LENGTH = 24;
/** Where a bucket's bounds sit in its fixed part `,{"period":{"start":"…","end":"…"},"value":`. */
const START_AT = ',{"period":{"start":"'.length;
const END_AT = START_AT + ISO_LENGTH + '","end":"'.length;
/** The longest `String(number)` (e.g. `-2.2250738585072014e-308`) is 24 characters. */
const MAX_NUMBER_LENGTH = 24;
const ZERO = 0x30;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The JSON of a series answer, byte for byte what `JSON.stringify` makes of
 * `{metric, summary: {protonId, period}, buckets: [{period: {start, end}, value}]}`, written
 * straight into one buffer. A PT1M week is 10 080 buckets: an object per bucket, per period and
 * per bound, their strings and the serialised copy made the answer cost about as much as the
 * query at a million records, most of it young-generation GC. Bucket i is
 * [boundsMs[i], boundsMs[i + 1]) (`boundsMs` has one entry more than `values`, or none); bounds
 * lie in 1970..9999 and are written as `toISOString` writes them.
 *
 * A bucket but its value is one fixed template, kept from bucket to bucket: its start is the
 * previous end (one native copy), its end changes in a few digits (the date only when the day
 * does), and it goes out with one native copy. Written byte by byte, the 88 bytes of each
 * bucket took 5.2 ms of a PT1M week; this way 1.8 ms.
 */
export function seriesJson(head: SeriesHead, boundsMs: readonly number[], values: ReadonlyArray<number | null>): Buffer {
  const prefix = Buffer.from(`{"metric":${JSON.stringify(head.metric)},"summary":${JSON.stringify({ protonId: head.protonId, period: head.period })},"buckets":[`, 'utf8');
  const first = values.length > 0 ? iso(boundsMs[0]) : iso(0);
  const bucket = Buffer.from(`,{"period":{"start":"${first}","end":"${first}"},"value":`, 'latin1');
  const out = Buffer.allocUnsafe(prefix.length + values.length * (bucket.length + MAX_NUMBER_LENGTH + 1) + 2);
  let at = prefix.copy(out, 0);
  const end = new EndWriter(bucket, boundsMs[0]);
  for (let i = 0; i < values.length; i++) {
    bucket.copyWithin(START_AT, END_AT, END_AT + ISO_LENGTH);
    end.write(boundsMs[i + 1]);
    // TypedArray#set, not Buffer#copy: the latter's argument checks in JS cost more than these 88 bytes.
    if (i === 0) {
      out.set(bucket.subarray(1), at); // the first bucket has no leading comma
      at += bucket.length - 1;
    } else {
      out.set(bucket, at);
      at += bucket.length;
    }
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

/**
 * Rewrites the ISO end bound of the bucket template in place, only the fields that changed:
 * from one PT1M bound to the next, the minute digits, and the hour's once an hour.
 */
class EndWriter {
  private day: number;
  private hour: number;
  private minute: number;
  /** Seconds and milliseconds, as ms into the minute. */
  private second: number;

  /** `ms`: the bound the template holds now. */
  constructor(private readonly bucket: Buffer, ms: number) {
    this.day = Math.floor(ms / DAY_MS);
    const t = ms - this.day * DAY_MS;
    this.hour = Math.floor(t / 3_600_000);
    this.minute = Math.floor(t / 60_000) % 60;
    this.second = t % 60_000;
  }

  write(ms: number): void {
    const out = this.bucket;
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      out.write(iso(day * DAY_MS), END_AT, 10, 'latin1');
    }
    const t = ms - day * DAY_MS;
    const hour = Math.floor(t / 3_600_000);
    if (hour !== this.hour) two(out, END_AT + 11, (this.hour = hour));
    const minute = Math.floor(t / 60_000) % 60;
    if (minute !== this.minute) two(out, END_AT + 14, (this.minute = minute));
    const second = t % 60_000;
    if (second !== this.second) {
      this.second = second;
      two(out, END_AT + 17, Math.floor(second / 1000));
      const milli = second % 1000;
      out[END_AT + 20] = ZERO + Math.floor(milli / 100);
      two(out, END_AT + 21, milli % 100);
    }
  }
}

function two(out: Buffer, at: number, n: number): void {
  out[at] = ZERO + Math.floor(n / 10);
  out[at + 1] = ZERO + (n % 10);
}
