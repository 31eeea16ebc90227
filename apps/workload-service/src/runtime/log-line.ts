import type { LogLevel } from '@wcp/contracts';

/**
 * Pure parts of log shipping: cutting a chunk of a replica's log file into lines, and the
 * level of a line. No I/O, no clock; the tailer (`replica-log.tailer.ts`) does the reading.
 */

export type LogStream = 'stdout' | 'stderr';

/** Appended to a cut message (the contract allows MAX_LOG_LINE_CHARS + 64), so a reader sees the cut without the flag. */
export const TRUNCATED_MARKER = ' …[truncated]';

/** Rough JSON size of one line's fields other than the message (id, timestamp, keys), for batch bounds (bytes). */
export const LINE_OVERHEAD_BYTES = 256;

export interface SplitOptions {
  /** Longest text kept of a line (UTF-16 code units); a longer line is cut, marked truncated, and ends with TRUNCATED_MARKER. */
  maxChars: number;
  /** Most lines returned. */
  maxLines: number;
  /** Most bytes the returned lines may take in a batch (their JSON-encoded messages plus LINE_OVERHEAD_BYTES each). */
  maxBytes: number;
  /** The chunk ends at the end of a file nobody writes any more: an unterminated last line is a line. */
  final: boolean;
}

export interface SplitLine {
  /** Byte offset of the line's first byte, relative to the chunk. */
  start: number;
  message: string;
  truncated: boolean;
}

export interface Split {
  lines: SplitLine[];
  /** Bytes of the chunk the lines (and skipped bytes) account for; the next read starts here. */
  consumed: number;
  /** The chunk ended inside a line that was cut: skip to its newline first. */
  skip: boolean;
}

const NL = 0x0a;
const CR = 0x0d;

/**
 * Splits `chunk`, which starts at a line start (or, with `skip`, inside the rest of a cut line).
 * A complete line is always decoded whole, so multi-byte UTF-8 never breaks across reads: an
 * unterminated tail is left unconsumed and re-read with more bytes next time, unless it is
 * already longer than `maxChars` (then it is cut at a character boundary and the rest skipped).
 * A chunk of at least 4·maxChars bytes therefore always makes progress.
 */
export function splitLines(chunk: Buffer, skip: boolean, options: SplitOptions): Split {
  const lines: SplitLine[] = [];
  let pos = 0;
  let bytes = 0;
  if (skip) {
    const nl = chunk.indexOf(NL);
    if (nl < 0) return { lines, consumed: chunk.length, skip: true };
    pos = nl + 1;
  }
  const fits = (message: string): boolean => {
    if (lines.length >= options.maxLines) return false;
    const cost = Buffer.byteLength(JSON.stringify(message)) + LINE_OVERHEAD_BYTES;
    if (lines.length > 0 && bytes + cost > options.maxBytes) return false;
    bytes += cost;
    return true;
  };
  while (pos < chunk.length) {
    const nl = chunk.indexOf(NL, pos);
    if (nl >= 0) {
      const end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
      const text = chunk.toString('utf8', pos, end);
      const truncated = text.length > options.maxChars;
      const message = truncated ? cutLine(text, options.maxChars) : text;
      if (!fits(message)) break;
      lines.push({ start: pos, message, truncated });
      pos = nl + 1;
      continue;
    }
    // Unterminated tail: decode only whole characters, so a sequence cut by the chunk end is not mangled.
    const text = chunk.toString('utf8', pos, utf8Boundary(chunk, pos, chunk.length));
    if (text.length > options.maxChars) {
      const message = cutLine(text, options.maxChars);
      if (!fits(message)) break;
      lines.push({ start: pos, message, truncated: true });
      return { lines, consumed: chunk.length, skip: true };
    }
    if (options.final) {
      const end = chunk[chunk.length - 1] === CR ? chunk.length - 1 : chunk.length;
      const message = chunk.toString('utf8', pos, end);
      if (!fits(message)) break;
      lines.push({ start: pos, message, truncated: false });
      pos = chunk.length;
    }
    break;
  }
  return { lines, consumed: pos, skip: false };
}

function cutLine(text: string, max: number): string {
  return cutChars(text, max) + TRUNCATED_MARKER;
}

/** `text` cut to at most `max` UTF-16 code units, never between the halves of a surrogate pair. */
export function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The largest end ≤ `end` that does not split a UTF-8 sequence starting in [start, end). */
function utf8Boundary(buf: Buffer, start: number, end: number): number {
  // A sequence is at most 4 bytes: look back over up to 3 continuation bytes to its lead byte.
  for (let i = end - 1, seen = 0; i >= start && seen < 4; i--, seen++) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return end - i >= need ? end : i;
  }
  return end;
}

const LEVEL_WORDS: Record<string, LogLevel> = {
  debug: 'debug',
  trace: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warning',
  warning: 'warning',
  error: 'error',
  err: 'error',
  critical: 'critical',
  crit: 'critical',
  fatal: 'critical',
  panic: 'critical',
  emergency: 'critical',
  alert: 'critical',
};

const LEVEL_KEYS = ['level', 'severity', 'levelname'] as const;

/**
 * The level of one line: a JSON object line with a string `level`, `severity` or `levelname`
 * says it (case-insensitive); anything else is judged by its stream, stdout → info and
 * stderr → warning (a stderr line is not necessarily an error, but more than chatter).
 */
export function levelOf(message: string, stream: LogStream): LogLevel {
  const trimmed = message.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = null;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const key of LEVEL_KEYS) {
        const value = (parsed as Record<string, unknown>)[key];
        if (typeof value !== 'string') continue;
        const level = LEVEL_WORDS[value.trim().toLowerCase()];
        if (level) return level;
      }
    }
  }
  return stream === 'stdout' ? 'info' : 'warning';
}
