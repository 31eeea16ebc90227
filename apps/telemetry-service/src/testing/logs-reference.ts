import type { LogBatch, LogEntryDto, LogLevel } from '@wcp/contracts';
import { seeded } from './stats-reference';

/**
 * A plain-array model of the log search rules, for tests only (not built into dist). It
 * shares no code with the SQL path: filters, one copy per id, newest first, then a page.
 */
export interface RefLine {
  workloadId: string;
  protonId: string;
  replica: string;
  container: string;
  id: string;
  timestampMs: number;
  stream: 'stdout' | 'stderr';
  level: LogLevel;
  message: string;
  truncated: boolean;
}

export interface RefLogQuery {
  workloadId: string;
  protonId: string | null;
  level: LogLevel | null;
  startMs: number | null;
  endMs: number | null;
  offset: number;
  limit: number;
}

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

/** The byte offset after the last ':' of an id; 0 without one. */
function byteOffset(id: string): number {
  const parts = id.split(':');
  const last = parts[parts.length - 1];
  return /^[0-9]+$/.test(last) ? Number(last) : 0;
}

/** Newest first; same millisecond: larger byte offset first; then id descending. */
export function refCompare(a: RefLine, b: RefLine): number {
  if (a.timestampMs !== b.timestampMs) return b.timestampMs - a.timestampMs;
  const oa = byteOffset(a.id);
  const ob = byteOffset(b.id);
  if (oa !== ob) return ob - oa;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

/** `deliveries` may hold several copies of a line (same id); each counts and shows once. */
export function refSearch(deliveries: RefLine[], q: RefLogQuery): { totalCount: number; data: LogEntryDto[] } {
  const selected = deliveries
    .filter((l) => l.workloadId === q.workloadId)
    .filter((l) => q.protonId === null || l.protonId === q.protonId)
    .filter((l) => q.level === null || SEVERITY[l.level] >= SEVERITY[q.level])
    .filter((l) => q.startMs === null || l.timestampMs >= q.startMs)
    .filter((l) => q.endMs === null || l.timestampMs < q.endMs)
    .sort(refCompare);
  const seen = new Set<string>();
  const unique = selected.filter((l) => !seen.has(l.id) && seen.add(l.id));
  return {
    totalCount: unique.length,
    data: unique.slice(q.offset, q.offset + q.limit).map((l) => ({
      timestamp: new Date(l.timestampMs).toISOString(),
      level: l.level,
      message: l.message,
      replica: l.replica,
      protonId: l.protonId,
    })),
  };
}

const LEVELS: LogLevel[] = ['debug', 'info', 'info', 'info', 'warning', 'error', 'critical'];

/**
 * `n` lines of one workload from 2 protons × 2 replicas × 2 streams, starting at `startMs` and
 * about a second apart per file on average, with many lines of one file in the same millisecond
 * (so the tiebreak matters). Ids are `<instance>:<stream>:<generation>:<byteOffset>`.
 */
export function generateLines(workloadId: string, n: number, seed: number, startMs: number): RefLine[] {
  const rand = seeded(seed);
  const files = ['p-a', 'p-b'].flatMap((protonId) =>
    [0, 1].flatMap((r) =>
      (['stdout', 'stderr'] as const).map((stream) => ({ protonId, replica: `${protonId}-r${r}`, stream, at: startMs, offset: 0 })),
    ),
  );
  const lines: RefLine[] = [];
  for (let i = 0; i < n; i++) {
    const f = files[Math.floor(rand() * files.length)];
    // Half the lines share the millisecond of the previous line of their file.
    f.at += rand() < 0.5 ? 0 : Math.floor(rand() * 2000);
    const message = `line ${i} of ${f.replica}/${f.stream} ${'x'.repeat(Math.floor(rand() * 40))}`;
    lines.push({
      workloadId,
      protonId: f.protonId,
      replica: f.replica,
      container: 'main',
      id: `${f.replica}-7f3a:${f.stream}:1:${f.offset}`,
      timestampMs: f.at,
      stream: f.stream,
      level: LEVELS[Math.floor(rand() * LEVELS.length)],
      message,
      truncated: rand() < 0.05,
    });
    f.offset += Buffer.byteLength(message) + 1;
  }
  return lines;
}

/** Consecutive lines of one replica, as the shipper publishes them (at most `size` a batch). */
export function toBatches(lines: RefLine[], size = 40): LogBatch[] {
  const byReplica = new Map<string, RefLine[]>();
  for (const l of lines) {
    const group = byReplica.get(l.replica) ?? [];
    group.push(l);
    byReplica.set(l.replica, group);
  }
  const batches: LogBatch[] = [];
  for (const group of byReplica.values()) {
    for (let i = 0; i < group.length; i += size) {
      const chunk = group.slice(i, i + size);
      batches.push({
        type: 'log.batch',
        schemaVersion: 1,
        workloadId: chunk[0].workloadId,
        protonId: chunk[0].protonId,
        replica: chunk[0].replica,
        container: chunk[0].container,
        lines: chunk.map((l) => ({
          id: l.id,
          timestamp: new Date(l.timestampMs).toISOString(),
          stream: l.stream,
          level: l.level,
          message: l.message,
          truncated: l.truncated,
        })),
      });
    }
  }
  return batches;
}
