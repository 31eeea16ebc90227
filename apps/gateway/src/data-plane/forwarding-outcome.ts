import type { RequestRecord } from '@wcp/contracts';

/**
 * What the forwarder decides, as pure functions of what it has seen: whether a failed attempt
 * is repeated, what the caller is answered, and the record of the request. The I/O around them
 * is in replica.forwarder.ts.
 */

/** Status recorded when the caller went away before the response was sent (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

/** The contract's bound on a recorded path (characters); longer paths are cut. */
const MAX_RECORDED_PATH = 2048;

/** Request bodies up to this size are kept while they stream, so a reset keep-alive connection can be retried. */
export const REPLAY_LIMIT_BYTES = 64 * 1024;

/** Connection-level failures before any byte was exchanged: nothing listens there (any more). */
const NOT_LISTENING = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A failed attempt can be repeated on another replica only when nothing of the request body
 * has been consumed: none was read, or there was none and it is over already.
 */
export function isReplayable(bytesIn: number, bodyStarted: boolean, bodyEnded: boolean): boolean {
  return bytesIn === 0 && (!bodyStarted || bodyEnded);
}

export function recordedPath(path: string): string {
  return path.length > MAX_RECORDED_PATH ? path.slice(0, MAX_RECORDED_PATH) : path;
}

/** Milliseconds between two performance.now() readings, to the microsecond. */
export function elapsedMs(t0: number, t1: number): number {
  return Math.round((t1 - t0) * 1000) / 1000;
}

/** The body read so far, kept while it fits REPLAY_LIMIT_BYTES so a retry can send it again. */
export class ReplayBuffer {
  /** null: too large to replay. */
  private kept: Buffer[] | null;
  private bytes = 0;

  constructor(declaredLength: number) {
    this.kept = declaredLength <= REPLAY_LIMIT_BYTES ? [] : null;
  }

  get replayable(): boolean {
    return this.kept !== null;
  }

  get chunks(): readonly Buffer[] {
    return this.kept ?? [];
  }

  push(chunk: Buffer): void {
    if (!this.kept) return;
    this.bytes += chunk.length;
    if (this.bytes <= REPLAY_LIMIT_BYTES) this.kept.push(chunk);
    else this.kept = null;
  }
}

/** What is known when an attempt fails. */
export interface AttemptFailure {
  /** The status line is decided already (answered, refused, or the caller left). */
  settled: boolean;
  /** The replica was silent for the upstream timeout. */
  timedOut: boolean;
  /** The socket error's code, or undefined. */
  code: string | undefined;
  message: string;
  /** Attempts made so far, this one included. */
  attempts: number;
  /** Nothing of the body is consumed (isReplayable). */
  replayable: boolean;
  /** The failed attempt had reused a pooled connection and got no response. */
  reusedSocket: boolean;
  /** The body read so far is kept (ReplayBuffer.replayable). */
  bodyKept: boolean;
  callerGone: boolean;
  replica: string;
  workloadId: string;
  timeoutMs: number;
}

export type FailureAction =
  | { kind: 'cut' }
  | { kind: 'retry' }
  /** `unreachable`: the replica is gone, so the workload's cached routes are stale. */
  | { kind: 'answer'; status: 502 | 503 | 504; detail: string; unreachable: boolean };

/**
 * At most two attempts. After the status line only cutting the connection is honest. A refused
 * connection before any body byte left is retried elsewhere; so is a kept-alive connection the
 * replica closed as it was reused (Node's documented race; a replica shutting down closes its idle
 * connections) when the body is kept. A replica that is gone is a 503 (no ready replica), one that
 * is silent a 504, anything else a 502.
 */
export function failureAction(f: AttemptFailure): FailureAction {
  if (f.settled) return { kind: 'cut' };
  if (f.timedOut) return { kind: 'answer', status: 504, detail: `Replica ${f.replica} did not answer within ${f.timeoutMs} ms.`, unreachable: false };
  const resetOnReuse = f.code === 'ECONNRESET' && f.reusedSocket && f.bodyKept;
  if (f.attempts < 2 && (f.replayable || resetOnReuse) && !f.callerGone) return { kind: 'retry' };
  if (f.code && NOT_LISTENING.has(f.code)) {
    return { kind: 'answer', status: 503, detail: `Workload ${f.workloadId} has no ready replica (replica ${f.replica} refused the connection).`, unreachable: true };
  }
  return { kind: 'answer', status: 502, detail: `Replica ${f.replica} could not be reached: ${f.code ?? f.message}.`, unreachable: false };
}

/** What a request's record says, from its exchange and how it ended. */
export interface Finished {
  workloadId: string;
  /** The proton of the replica that served it: per-proton statistics and rollout analysis read it. */
  protonId: string;
  replica: string;
  method: string;
  path: string;
  status: number;
  startedAt: Date;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
}

export function requestRecord(id: string, f: Finished): RequestRecord {
  return {
    type: 'request.record',
    schemaVersion: 1,
    id,
    workloadId: f.workloadId,
    protonId: f.protonId,
    replica: f.replica,
    method: f.method,
    path: recordedPath(f.path),
    status: f.status,
    startedAt: f.startedAt.toISOString(),
    durationMs: f.durationMs,
    bytesIn: f.bytesIn,
    bytesOut: f.bytesOut,
  };
}
