import { MAX_LOG_LINE_CHARS } from '@wcp/contracts';
import { cutChars, levelOf, LINE_OVERHEAD_BYTES, splitLines, TRUNCATED_MARKER, type SplitOptions } from './log-line';

const opts = (over: Partial<SplitOptions> = {}): SplitOptions => ({ maxChars: 10, maxLines: 500, maxBytes: 256 * 1024, final: false, ...over });
const buf = (text: string) => Buffer.from(text, 'utf8');

describe('splitLines', () => {
  it('cuts at newlines, drops \\r\\n, gives byte offsets of line starts, and leaves an unterminated tail for later', () => {
    const split = splitLines(buf('a\r\nbé\n\nrest'), false, opts());
    expect(split.lines).toEqual([
      { start: 0, message: 'a', truncated: false },
      { start: 3, message: 'bé', truncated: false },
      { start: 7, message: '', truncated: false },
    ]);
    expect(split).toMatchObject({ consumed: 8, skip: false });
  });

  it('ships the unterminated last line when the writer is gone', () => {
    expect(splitLines(buf('a\nlast\r'), false, opts({ final: true }))).toEqual({
      lines: [
        { start: 0, message: 'a', truncated: false },
        { start: 2, message: 'last', truncated: false },
      ],
      consumed: 7,
      skip: false,
    });
  });

  it('cuts a long line, marks it, and skips its rest up to the newline, also across reads', () => {
    const first = splitLines(buf('0123456789ABCDEF'), false, opts());
    expect(first).toEqual({ lines: [{ start: 0, message: `0123456789${TRUNCATED_MARKER}`, truncated: true }], consumed: 16, skip: true });
    const middle = splitLines(buf('GHIJ'), true, opts());
    expect(middle).toEqual({ lines: [], consumed: 4, skip: true });
    const last = splitLines(buf('KL\nnext\n'), true, opts());
    expect(last).toEqual({ lines: [{ start: 3, message: 'next', truncated: false }], consumed: 8, skip: false });
    // A terminated long line is cut too, and nothing is skipped after it.
    expect(splitLines(buf('0123456789AB\nx\n'), false, opts()).lines).toEqual([
      { start: 0, message: `0123456789${TRUNCATED_MARKER}`, truncated: true },
      { start: 13, message: 'x', truncated: false },
    ]);
  });

  it('never decodes half a UTF-8 sequence: a tail cut by the chunk end is re-read whole', () => {
    const line = buf('€uro\n'); // € is 3 bytes
    for (let cut = 1; cut < line.length; cut++) {
      const split = splitLines(line.subarray(0, cut), false, opts());
      expect(split).toEqual({ lines: [], consumed: 0, skip: false });
    }
    expect(splitLines(line, false, opts()).lines).toEqual([{ start: 0, message: '€uro', truncated: false }]);
  });

  it('cuts a long tail at a character boundary, even when the chunk ends inside a sequence', () => {
    const text = '😀'.repeat(8); // 4 bytes and 2 UTF-16 units each
    const chunk = buf(text).subarray(0, 30); // 7 whole emoji and half of the 8th
    const split = splitLines(chunk, false, opts({ maxChars: 9 }));
    // 9 units would split a surrogate pair: 4 emoji (8 units) are kept.
    expect(split.lines).toEqual([{ start: 0, message: `${'😀'.repeat(4)}${TRUNCATED_MARKER}`, truncated: true }]);
    expect(split.lines[0].message).not.toContain('\ufffd');
    expect(split).toMatchObject({ consumed: 30, skip: true });
  });

  it('always makes progress on a full chunk without a newline (chunk ≥ 4 × MAX_LOG_LINE_CHARS)', () => {
    const chunk = buf('€'.repeat(64 * 1024)).subarray(0, 64 * 1024);
    const split = splitLines(chunk, false, opts({ maxChars: MAX_LOG_LINE_CHARS }));
    expect(split.lines).toHaveLength(1);
    expect(split.lines[0]).toMatchObject({ truncated: true });
    expect(split.lines[0].message).toBe(`${'€'.repeat(MAX_LOG_LINE_CHARS)}${TRUNCATED_MARKER}`);
    expect(split.consumed).toBe(chunk.length);
  });

  it('stops at the batch bounds, consuming only what it returns', () => {
    const text = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n';
    const byCount = splitLines(buf(text), false, opts({ maxLines: 5 }));
    expect(byCount.lines.map((l) => l.message)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4']);
    expect(byCount.consumed).toBe(buf('l0\nl1\nl2\nl3\nl4\n').length);
    // Each line costs its JSON string plus the overhead: room for three.
    const cost = Buffer.byteLength(JSON.stringify('l0')) + LINE_OVERHEAD_BYTES;
    const byBytes = splitLines(buf(text), false, opts({ maxBytes: cost * 3 + 1 }));
    expect(byBytes.lines).toHaveLength(3);
    expect(byBytes.consumed).toBe(9);
    // One line always fits, so a tight bound cannot stall a file.
    expect(splitLines(buf(text), false, opts({ maxBytes: 1 })).lines).toHaveLength(1);
    // Escaping counts: a line of quotes weighs twice its length.
    const quotes = '"'.repeat(8);
    expect(splitLines(buf(`${quotes}\n${quotes}\n`), false, opts({ maxBytes: 2 * (8 + LINE_OVERHEAD_BYTES) })).lines).toHaveLength(1);
  });
});

describe('cutChars', () => {
  it('keeps short text and never splits a surrogate pair', () => {
    expect(cutChars('abc', 5)).toBe('abc');
    expect(cutChars('abcdef', 3)).toBe('abc');
    expect(cutChars('a😀b', 2)).toBe('a');
    expect(cutChars('a😀b', 3)).toBe('a😀');
  });
});

describe('levelOf', () => {
  it.each([
    ['{"level":"debug"}', 'debug'],
    ['{"level":"TRACE"}', 'debug'],
    ['{"level":"info","msg":"x"}', 'info'],
    ['{"severity":"Notice"}', 'info'],
    ['{"level":"warn"}', 'warning'],
    ['{"levelname":"WARNING"}', 'warning'],
    ['{"level":"error"}', 'error'],
    ['{"level":"err"}', 'error'],
    [' {"level":"fatal"} ', 'critical'],
    ['{"severity":"CRITICAL"}', 'critical'],
    ['{"level":"crit"}', 'critical'],
    ['{"level":"panic"}', 'critical'],
    ['{"severity":"EMERGENCY"}', 'critical'],
    ['{"severity":"alert"}', 'critical'],
  ] as const)('%s on stdout → %s', (line, level) => {
    expect(levelOf(line, 'stdout')).toBe(level);
    expect(levelOf(line, 'stderr')).toBe(level);
  });

  it('falls back to the stream: stdout → info, stderr → warning', () => {
    for (const line of ['plain text', 'error: looks bad but is not JSON', '{"level":30}', '{"level":"verbose"}', '["level","error"]', '{"level":"error"', '{}', '']) {
      expect(levelOf(line, 'stdout')).toBe('info');
      expect(levelOf(line, 'stderr')).toBe('warning');
    }
  });

  it('takes the first of level, severity, levelname that names a level', () => {
    expect(levelOf('{"level":"verbose","severity":"error"}', 'stdout')).toBe('error');
    expect(levelOf('{"level":"debug","severity":"error"}', 'stdout')).toBe('debug');
  });
});
