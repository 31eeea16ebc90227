import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LogStream } from './log-line';

/** How far one replica log file (one stream) is shipped: what survives a restart of the service. */
export interface LogCursor {
  workloadId: string;
  protonId: string;
  replica: string;
  container: string;
  stream: LogStream;
  /** Generation being read, bumped whenever the file is truncated (rotation, dropped backlog); part of every line id. */
  generation: number;
  /** Bytes of this generation shipped and acknowledged; always at a line start unless `skip`. */
  offset: number;
  /** Set: the generation being read was rotated to `<file>.1`, which ends here (bytes); the live file holds generation + 1. */
  rotated: number | null;
  /** `offset` is inside the rest of a line that was cut at MAX_LOG_LINE_CHARS: skip to its newline. */
  skip: boolean;
  /** Which replica process wrote from which position on (ascending by generation, then `from`): the instance part of line ids. */
  writers: Array<{ generation: number; from: number; instanceId: string }>;
  /** Bytes dropped unread because shipping fell behind, still to be announced in one line. */
  dropped: { id: string; bytes: number } | null;
}

interface CursorFile {
  version: 1;
  cursors: LogCursor[];
}

/**
 * `<stateDir>/log-cursors.json`, rewritten whole after every acknowledged batch (temp file,
 * rename). Not fsynced: losing the newest cursor to a power cut re-ships a few batches, and
 * line ids make those duplicates that ingestion drops.
 */
export class LogCursorStore {
  constructor(readonly file: string) {}

  load(): LogCursor[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<CursorFile>;
      if (!Array.isArray(parsed.cursors)) return [];
      return parsed.cursors.filter(
        (c) => typeof c?.replica === 'string' && (c.stream === 'stdout' || c.stream === 'stderr') && Number.isInteger(c.offset) && Number.isInteger(c.generation) && Array.isArray(c.writers) && c.writers.length > 0,
      ).map((c) => ({ ...c, rotated: Number.isInteger(c.rotated) ? c.rotated : null, dropped: c.dropped ?? null }));
    } catch {
      return [];
    }
  }

  save(cursors: LogCursor[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    const body: CursorFile = { version: 1, cursors };
    writeFileSync(tmp, JSON.stringify(body), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
