import { appendFileSync, closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_LOG_LINE_CHARS, type LogLine } from '@wcp/contracts';
import { LogCursorStore, type LogCursor } from './log-cursor.store';
import { levelOf, splitLines, type LogStream } from './log-line';
import { restartDelayMs, type BackoffPolicy } from './restart-backoff';
import type { LogShipping, LogSink } from './runtime-driver';

export interface ReplicaLogOptions {
  /** How often files are checked for new bytes (ms). */
  pollMs?: number;
  /** A file larger than this is rotated (bytes). */
  maxBytes?: number;
  /** Files kept per stream, the live one included (≥ 2): 2 keeps `<file>` and `<file>.1`. */
  files?: number;
  /** Bounds of one published batch: lines, and bytes of its JSON (Kafka's default message limit is 1 MB). */
  batchLines?: number;
  batchBytes?: number;
  /** Back-off between attempts to publish a batch that failed. */
  retry?: BackoffPolicy;
}

/** Whose lines a file holds. */
export interface LogTarget {
  replica: string;
  workloadId: string;
  protonId: string;
  container: string;
}

/** Bytes read per step: ≥ 4·MAX_LOG_LINE_CHARS, so a chunk without a newline is always a line to cut (see splitLines). */
const CHUNK_BYTES = 64 * 1024;
/** Unshipped bytes beyond this many × maxBytes are dropped rather than left to fill the disk. */
const BACKLOG_FACTOR = 4;
/** Rounds of copying what was appended meanwhile before a rotation gives up until the next step. */
const ROTATE_ROUNDS = 8;
const STREAMS: readonly LogStream[] = ['stdout', 'stderr'];

/** Where a replica's streams go: separate files, so the stream (and with it the default level) is known. */
export function replicaLogFiles(logsDir: string, replica: string): Record<LogStream | 'runtime', string> {
  return {
    stdout: join(logsDir, `${replica}.stdout.log`),
    stderr: join(logsDir, `${replica}.stderr.log`),
    // The driver's own start markers: never shipped, so nothing can pass them off as the replica's output.
    runtime: join(logsDir, `${replica}.runtime.log`),
  };
}

/**
 * Before a spawn: appends the driver's `marker` line to the runtime file and opens the stream
 * files O_APPEND, as [stdout, stderr] descriptors for the child (the caller closes them).
 */
export function openReplicaLogs(logsDir: string, replica: string, marker: string): [number, number] {
  const files = replicaLogFiles(logsDir, replica);
  appendFileSync(files.runtime, `${marker}\n`, { mode: 0o600 });
  const stdout = openSync(files.stdout, 'a', 0o600);
  try {
    return [stdout, openSync(files.stderr, 'a', 0o600)];
  } catch (err) {
    closeSync(stdout);
    throw err;
  }
}

interface Tail {
  path: string;
  cursor: LogCursor;
  /** true: a live process writes; false: it exited (drain, then forget); null: loaded at boot, not yet adopted. */
  live: boolean | null;
  busy: boolean;
  failures: number;
  retryAt: number;
  /** File size when a step last found only an unterminated line: nothing to do until it grows. */
  waitingAt: number;
  /** A rotation failed (the writer never paused): no new copy before this time (ms epoch). */
  rotateAt: number;
}

type Step = 'more' | 'idle' | 'failed';

/**
 * Ships the lines replicas write to their per-stream files. Replicas are detached and outlive
 * the service, so they write to files they hold open with O_APPEND, never to a pipe of ours;
 * this reads new bytes by offset. Per file, one step at a time:
 *
 * 1. a backlog above BACKLOG_FACTOR × maxBytes is dropped (truncated) and announced in one line;
 * 2. a live file above maxBytes is rotated to `<file>.1` (copy, truncate in place); the rest of
 *    its generation is then read from the copy, before the live file's next generation;
 * 3. read ≤ CHUNK_BYTES at the cursor, split into lines within the batch bounds;
 * 4. publish them as one LogBatch and wait: nothing more is read while it is pending, so the
 *    file is the buffer and memory stays bounded however fast a replica prints. A failure
 *    leaves the cursor where it was; the same bytes are read again after a back-off;
 * 5. advance the cursor and persist it (`log-cursors.json`), so a restarted service resumes
 *    there: nothing lost, at most the last unacknowledged batch shipped twice, same line ids;
 * 6. at the end of a file whose process exited, ship the unterminated last line and forget it.
 */
export class ReplicaLogTailer implements LogShipping {
  private readonly store: LogCursorStore;
  private readonly tails = new Map<string, Tail>();
  private readonly pollMs: number;
  private readonly maxBytes: number;
  private readonly files: number;
  private readonly batchLines: number;
  private readonly batchBytes: number;
  private readonly retry: BackoffPolicy;
  private timer: NodeJS.Timeout | null = null;
  /** No new pumps from the timer (stop began). */
  private stopping: Promise<void> | null = null;
  /** Pumps end after their current step (stop's deadline passed). */
  private halted = false;

  constructor(
    private readonly logsDir: string,
    stateFile: string,
    private readonly sink: LogSink,
    options: ReplicaLogOptions = {},
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.store = new LogCursorStore(stateFile);
    this.pollMs = options.pollMs ?? 250;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    // Rotation needs the copy: the rest of a rotated generation is shipped from it.
    this.files = Math.max(2, options.files ?? 2);
    this.batchLines = Math.min(5000, options.batchLines ?? 500);
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.retry = options.retry ?? { initialMs: 500, maxMs: 30_000 };
  }

  /** Loads the cursors of the last run (those files are drained even if their replica is not adopted) and starts polling. */
  start(): void {
    for (const cursor of this.store.load()) {
      const path = replicaLogFiles(this.logsDir, cursor.replica)[cursor.stream];
      this.tails.set(tailKey(cursor.replica, cursor.stream), newTail(path, cursor, null));
    }
    this.timer = setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
  }

  /**
   * A new process of `target.replica` is about to start writing (its files are open, it is not
   * spawned yet): what is in the files now belongs to earlier processes.
   */
  launched(target: LogTarget, instanceId: string): void {
    for (const stream of STREAMS) {
      const path = replicaLogFiles(this.logsDir, target.replica)[stream];
      const key = tailKey(target.replica, stream);
      const size = fileSize(path);
      const tail = this.tails.get(key);
      if (!tail) {
        this.tails.set(key, newTail(path, newCursor(target, stream, size, instanceId), true));
        continue;
      }
      const c = tail.cursor;
      const unshipped = c.rotated !== null || c.offset < size || c.skip;
      // An earlier process died mid-line: end that line, or the new process's first line would join it (or be skipped).
      if (unshipped && !endsWithNewline(path, size)) appendNewline(path);
      const at = { generation: liveGeneration(c), from: fileSize(path) };
      c.writers = [...c.writers.filter((w) => before(w, at)), { ...at, instanceId }];
      tail.live = true;
    }
  }

  /** A process found alive at boot: it kept writing while nobody shipped; resume at the cursor (or ship the whole file). */
  adopted(target: LogTarget, instanceId: string): void {
    for (const stream of STREAMS) {
      const path = replicaLogFiles(this.logsDir, target.replica)[stream];
      const key = tailKey(target.replica, stream);
      const tail = this.tails.get(key);
      if (!tail) {
        this.tails.set(key, newTail(path, newCursor(target, stream, 0, instanceId), true));
        continue;
      }
      const c = tail.cursor;
      if (c.writers[c.writers.length - 1].instanceId !== instanceId) c.writers.push({ generation: liveGeneration(c), from: c.rotated === null ? c.offset : 0, instanceId });
      tail.live = true;
    }
  }

  /** The replica's process is gone: ship what it left, then stop tailing until a new process starts. */
  exited(replica: string): void {
    for (const stream of STREAMS) {
      const tail = this.tails.get(tailKey(replica, stream));
      if (tail) tail.live = false;
    }
  }

  /** Boot recovery is done: files of the last run whose replica was not adopted are drained and forgotten. */
  settle(): void {
    for (const tail of this.tails.values()) if (tail.live === null) tail.live = false;
  }

  /**
   * Stops polling and ships what is left (unterminated last lines only of exited processes),
   * for at most `timeoutMs`; the cursors say where the next start resumes.
   */
  stop(timeoutMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      let deadline: NodeJS.Timeout | undefined;
      const drain = (async () => {
        while (!this.halted && [...this.tails.values()].some((t) => t.busy)) await delay(10);
        for (const tail of [...this.tails.values()]) if (!this.halted) await this.pump(tail, true);
      })();
      await Promise.race([drain, new Promise<void>((resolve) => (deadline = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(deadline);
      this.halted = true;
      this.persist();
    })();
    return this.stopping;
  }

  private tick(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const tail of this.tails.values()) {
      if (tail.busy) continue;
      if (now >= tail.retryAt) {
        void this.pump(tail, false);
        continue;
      }
      // Publishing fails and the replica keeps printing: the disk bound still holds.
      try {
        if (this.backlog(tail) > BACKLOG_FACTOR * this.maxBytes) this.dropBacklog(tail);
      } catch {
        // Vanished meanwhile: the next step sees it.
      }
    }
  }

  private async pump(tail: Tail, draining: boolean): Promise<void> {
    if (tail.busy) return;
    tail.busy = true;
    try {
      for (;;) {
        if (this.halted || (this.stopping && !draining)) return;
        const step = await this.step(tail);
        if (step !== 'more') return;
        // Let other files and the rest of the service run between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch {
      // An unreadable file (permissions, a vanished directory): try again at the next poll.
      return;
    } finally {
      tail.busy = false;
    }
  }

  private async step(tail: Tail): Promise<Step> {
    const c = tail.cursor;
    if (c.rotated === null && fileSize(tail.path) < c.offset) {
      // Truncated or replaced behind our back: whatever it holds now is a new generation.
      this.newGeneration(tail, c.generation + 1);
      c.skip = false;
    }
    if (this.backlog(tail) > BACKLOG_FACTOR * this.maxBytes) {
      this.dropBacklog(tail);
      return 'more';
    }
    if (c.rotated === null && fileSize(tail.path) > this.maxBytes && Date.now() >= tail.rotateAt) {
      if (await this.rotate(tail)) return 'more';
      tail.rotateAt = Date.now() + this.pollMs;
    }

    const reading = c.rotated === null ? tail.path : `${tail.path}.1`;
    const size = c.rotated ?? fileSize(tail.path);
    if (c.rotated !== null && (c.offset >= c.rotated || !existsSync(reading))) {
      // The rotated generation is shipped (or its copy is gone): on to the live file.
      this.newGeneration(tail, c.generation + 1);
      this.persist();
      return 'more';
    }
    if (size === c.offset && !c.dropped) {
      if (tail.live === false) {
        this.tails.delete(tailKey(c.replica, c.stream));
        this.persist();
      }
      return 'idle';
    }
    if (size === tail.waitingAt && tail.live !== false && !c.dropped) return 'idle';

    const length = Math.min(CHUNK_BYTES, size - c.offset);
    const chunk = Buffer.alloc(length);
    const handle = await open(reading, 'r');
    let read: number;
    try {
      ({ bytesRead: read } = await handle.read(chunk, 0, length, c.offset));
    } finally {
      await handle.close();
    }
    // Nobody writes to a rotated copy; an unterminated end of it is the last line of its generation.
    const final = (tail.live === false || c.rotated !== null) && c.offset + read === size;
    const reserved = c.dropped ? 1 : 0;
    const split = splitLines(chunk.subarray(0, read), c.skip, {
      maxChars: MAX_LOG_LINE_CHARS,
      maxLines: this.batchLines - reserved,
      maxBytes: this.batchBytes - reserved * 512,
      final,
    });
    const timestamp = this.clock().toISOString();
    const lines: LogLine[] = split.lines.map((l) => {
      const offset = c.offset + l.start;
      return { id: lineId(c, c.generation, offset), timestamp, stream: c.stream, level: levelOf(l.message, c.stream), message: l.message, truncated: l.truncated };
    });
    if (c.dropped) {
      const message = `[runtime] ${c.dropped.bytes} bytes of ${c.stream} were dropped unread: log shipping fell behind`;
      lines.unshift({ id: c.dropped.id, timestamp, stream: c.stream, level: 'warning', message, truncated: false });
    }
    if (lines.length > 0) {
      try {
        await this.sink({ type: 'log.batch', schemaVersion: 1, workloadId: c.workloadId, protonId: c.protonId, replica: c.replica, container: c.container, lines });
      } catch {
        tail.failures++;
        tail.retryAt = Date.now() + restartDelayMs(tail.failures, this.retry);
        return 'failed';
      }
      tail.failures = 0;
      tail.retryAt = 0;
    }
    const announced = c.dropped !== null;
    c.dropped = null;
    if (split.consumed === 0) {
      if (announced) this.persist();
      tail.waitingAt = size;
      return 'idle';
    }
    c.offset += split.consumed;
    c.skip = split.skip;
    pruneWriters(c);
    tail.waitingAt = -1;
    this.persist();
    return 'more';
  }

  /** Unshipped bytes of a file: the rest of a rotated copy plus the live file, or the live file past the cursor. */
  private backlog(tail: Tail): number {
    const c = tail.cursor;
    return c.rotated !== null ? c.rotated - c.offset + fileSize(tail.path) : fileSize(tail.path) - c.offset;
  }

  /**
   * copytruncate: the replica keeps its O_APPEND descriptor, so the file is copied aside and
   * truncated in place, and its next write lands at offset 0. Bytes appended during the copy
   * are copied too, in rounds, until a size check finds nothing new; then it truncates at
   * once. The race: a write between that check and the truncate (two back-to-back syscalls)
   * is lost, from the copy too. It cannot be closed without the writer's help (logrotate's
   * copytruncate has the same window). False when the writer never paused long enough.
   */
  private async rotate(tail: Tail): Promise<boolean> {
    const c = tail.cursor;
    const staged = `${tail.path}.rotating`;
    await copyFile(tail.path, staged);
    const live = openSync(tail.path, 'r+');
    const copy = openSync(staged, 'a');
    let end = -1;
    try {
      let copied = fstatSync(copy).size;
      for (let round = 0; round < ROTATE_ROUNDS && end < 0; round++) {
        const size = fstatSync(live).size;
        if (size === copied) {
          ftruncateSync(live, 0);
          end = copied;
        } else {
          copied += copyRange(live, copy, copied, size);
        }
      }
    } finally {
      closeSync(copy);
      closeSync(live);
    }
    if (end < 0) {
      rmSync(staged, { force: true });
      return false;
    }
    for (let n = this.files - 1; n >= 1; n--) {
      const older = `${tail.path}.${n}`;
      if (n === this.files - 1) rmSync(older, { force: true });
      else if (existsSync(older)) renameSync(older, `${tail.path}.${n + 1}`);
    }
    renameSync(staged, `${tail.path}.1`);
    c.rotated = end;
    this.persist();
    return true;
  }

  /** Far behind: truncate the live file (same race as `rotate`), skip the rest of a rotated copy, and announce how many bytes were lost. */
  private dropBacklog(tail: Tail): void {
    const c = tail.cursor;
    const fd = openSync(tail.path, 'r+');
    try {
      const bytes = (c.rotated !== null ? c.rotated - c.offset : -c.offset) + fstatSync(fd).size;
      ftruncateSync(fd, 0);
      c.dropped = c.dropped ? { ...c.dropped, bytes: c.dropped.bytes + bytes } : { id: lineId(c, c.generation, c.offset), bytes };
    } finally {
      closeSync(fd);
    }
    this.newGeneration(tail, liveGeneration(c) + 1);
    // The first bytes after the cut may be the middle of a line: shipped as a line of its own.
    c.skip = false;
    this.persist();
  }

  private newGeneration(tail: Tail, generation: number): void {
    const c = tail.cursor;
    tail.waitingAt = -1;
    c.generation = generation;
    c.offset = 0;
    c.rotated = null;
    pruneWriters(c);
  }

  private persist(): void {
    this.store.save([...this.tails.values()].map((t) => t.cursor));
  }
}

function tailKey(replica: string, stream: LogStream): string {
  return `${replica}\u0000${stream}`;
}

function newTail(path: string, cursor: LogCursor, live: boolean | null): Tail {
  return { path, cursor, live, busy: false, failures: 0, retryAt: 0, waitingAt: -1, rotateAt: 0 };
}

function newCursor(target: LogTarget, stream: LogStream, offset: number, instanceId: string): LogCursor {
  return { ...target, stream, generation: 0, offset, rotated: null, skip: false, writers: [{ generation: 0, from: offset, instanceId }], dropped: null };
}

/** The generation new bytes of the live file belong to. */
function liveGeneration(c: LogCursor): number {
  return c.rotated !== null ? c.generation + 1 : c.generation;
}

type Position = { generation: number; from: number };

function before(a: Position, b: Position): boolean {
  return a.generation < b.generation || (a.generation === b.generation && a.from < b.from);
}

/** Forgets writers of what is shipped, keeping the one that wrote at the cursor. */
function pruneWriters(c: LogCursor): void {
  const at = { generation: c.generation, from: c.offset };
  c.writers = c.writers.filter((w, i) => i === c.writers.length - 1 || before(at, c.writers[i + 1]));
}

/** `<replica instance>:<stream>:<file generation>:<byte offset of the line start>`: the same line gets the same id on every read. */
function lineId(c: LogCursor, generation: number, offset: number): string {
  let instanceId = c.writers[0].instanceId;
  for (const w of c.writers) if (!before({ generation, from: offset }, w)) instanceId = w.instanceId;
  return `${instanceId}:${c.stream}:${generation}:${offset}`;
}

/** Appends bytes [from, to) of `src` to `dst`; returns how many were copied. */
function copyRange(src: number, dst: number, from: number, to: number): number {
  const buf = Buffer.alloc(Math.min(CHUNK_BYTES, to - from));
  let pos = from;
  while (pos < to) {
    const n = readSync(src, buf, 0, Math.min(buf.length, to - pos), pos);
    if (n === 0) break;
    writeSync(dst, buf, 0, n);
    pos += n;
  }
  return pos - from;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function endsWithNewline(path: string, size: number): boolean {
  if (size === 0) return true;
  const fd = openSync(path, 'r');
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

function appendNewline(path: string): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, '\n');
  } finally {
    closeSync(fd);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
