import { parseLogBatch, seqOf } from './log-row';

const W = 'a'.repeat(24);
const line = (over: Record<string, unknown> = {}) => ({
  id: 'r0-1:stdout:3:1024', timestamp: '2026-03-01T10:00:00.123Z', stream: 'stdout', level: 'info', message: 'hello', truncated: false, ...over,
});
const batch = (over: Record<string, unknown> = {}) => ({
  type: 'log.batch', schemaVersion: 1, workloadId: W, protonId: 'p', replica: 'r0', container: 'main', lines: [line()], ...over,
});

describe('seqOf', () => {
  it('is the byte offset at the end of the id', () => {
    expect(seqOf('r0-1:stdout:3:1024')).toBe(1024);
    expect(seqOf('a:b:c:0')).toBe(0);
    expect(seqOf('host:with:colons:stderr:2:987654321012345')).toBe(987654321012345);
  });

  it('is 0 when the id has no decimal tail (or one too long to be exact)', () => {
    expect(seqOf('no-colon')).toBe(0);
    expect(seqOf('a:b:c:12x')).toBe(0);
    expect(seqOf('a:b:c:')).toBe(0);
    expect(seqOf('a:b:c:-5')).toBe(0);
    expect(seqOf('a:b:c:1234567890123456')).toBe(0);
  });
});

describe('parseLogBatch', () => {
  it('maps every line to a row of the batch replica, timestamps as DateTime64 text', () => {
    const parsed = parseLogBatch(batch({ lines: [line(), line({ id: 'r0-1:stderr:3:7', stream: 'stderr', level: 'critical', truncated: true })] }));
    expect(parsed).toEqual({
      ok: true,
      rows: [
        { workload_id: W, proton_id: 'p', replica: 'r0', container: 'main', id: 'r0-1:stdout:3:1024', seq: 1024, timestamp: '2026-03-01 10:00:00.123', stream: 'stdout', level: 'info', message: 'hello', truncated: false },
        { workload_id: W, proton_id: 'p', replica: 'r0', container: 'main', id: 'r0-1:stderr:3:7', seq: 7, timestamp: '2026-03-01 10:00:00.123', stream: 'stderr', level: 'critical', message: 'hello', truncated: true },
      ],
    });
  });

  it('refuses what the contract refuses, with the fields named', () => {
    expect(parseLogBatch('{oops')).toEqual({ ok: false, reason: expect.stringMatching(/^invalid log batch: \(body\): /) });
    expect(parseLogBatch(batch({ lines: [] }))).toEqual({ ok: false, reason: expect.stringMatching(/^invalid log batch: lines: /) });
    expect(parseLogBatch(batch({ lines: [line(), line({ level: 'WARN' })] }))).toEqual({ ok: false, reason: expect.stringMatching(/^invalid log batch: lines\.1\.level: /) });
    expect(parseLogBatch(batch({ lines: [line({ timestamp: '2026-03-01T10:00:00Z' })] }))).toEqual({ ok: false, reason: expect.stringMatching(/lines\.0\.timestamp/) });
  });

  it('refuses a line the TTL could not expire (outside 1970..2105)', () => {
    expect(parseLogBatch(batch({ lines: [line(), line({ timestamp: '2106-01-01T00:00:00.000Z' })] }))).toEqual({
      ok: false, reason: 'invalid log batch: lines.1.timestamp 2106-01-01T00:00:00.000Z out of range',
    });
    expect(parseLogBatch(batch({ lines: [line({ timestamp: '1969-12-31T23:59:59.999Z' })] }))).toMatchObject({ ok: false });
    expect(parseLogBatch(batch({ lines: [line({ timestamp: '2105-12-31T23:59:59.999Z' })] }))).toMatchObject({ ok: true });
  });
});
