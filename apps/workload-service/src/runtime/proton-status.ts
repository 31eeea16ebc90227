import type {
  ContainerLastState,
  ContainerSnapshot,
  ProtonRuntimeStatus,
  ProtonSnapshot,
  ReplicaCondition,
  ReplicaConditionType,
  ReplicaPhase,
  ReplicaSnapshot,
} from './runtime-driver';

/**
 * Pure status logic of the local runtime: from the driver's view of each replica to the
 * API's "Status details" shape and to one aggregate proton status. No clock, no I/O.
 */

/**
 * Lifecycle of one replica as the driver tracks it:
 * pending (no process yet) → starting (process up, startup probe not passed) → running;
 * backoff (exited, restart scheduled); stopping/stopped (asked to stop); failed (given up).
 */
export type ReplicaLifecycle = 'pending' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed';

/** Lifecycle of a proton: active (should run), stopping, stopped, errored (gave up). */
export type ProtonLifecycle = 'active' | 'stopping' | 'stopped' | 'errored';

export interface ReplicaTermination {
  reason: string;
  exitCode: number | null;
  signal: string | null;
  startedAt: string | null;
  finishedAt: string;
  message?: string;
}

export interface ReplicaView {
  name: string;
  containerName: string;
  image: string;
  lifecycle: ReplicaLifecycle;
  address: string | null;
  /** First start of the replica; kept across restarts. */
  podStartedAt: string | null;
  /** Start of the current process. */
  startedAt: string | null;
  ready: boolean;
  restartCount: number;
  /** Why the container is waiting (ContainerCreating, CrashLoopBackOff, ErrImageNotFound...). */
  waitingReason?: string;
  message?: string;
  /** Current termination, when lifecycle is stopped or failed. */
  terminated?: ReplicaTermination;
  lastTermination?: ReplicaTermination;
  conditions: ReplicaCondition[];
  /**
   * Added by a scale-up of a running proton and not ready yet: like a pod a Deployment adds, it
   * does not make the proton any less running (only a failure of it counts).
   */
  joining?: boolean;
}

const CONDITION_TYPES: ReplicaConditionType[] = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'];

export function initialConditions(now: string): ReplicaCondition[] {
  return CONDITION_TYPES.map((type) => ({ type, value: false, lastTransitionTime: now, reason: null, message: null }));
}

/** Conditions with `type` set; lastTransitionTime only moves when the value changes. */
export function setCondition(
  conditions: ReplicaCondition[],
  type: ReplicaConditionType,
  value: boolean,
  now: string,
  reason: string | null = null,
  message: string | null = null,
): ReplicaCondition[] {
  return conditions.map((c) => {
    if (c.type !== type) return c;
    if (c.value === value) return { ...c, reason, message };
    return { type, value, lastTransitionTime: now, reason, message };
  });
}

/** The proton status one replica stands for. */
export function replicaStatus(r: Pick<ReplicaView, 'lifecycle' | 'ready'>): ProtonRuntimeStatus {
  switch (r.lifecycle) {
    case 'pending':
      return 'provisioning';
    case 'starting':
    case 'backoff':
      return 'launching';
    case 'running':
      return r.ready ? 'running' : 'launching';
    case 'stopping':
      return 'stopping';
    case 'stopped':
      return 'stopped';
    case 'failed':
      return 'errored';
  }
}

// Worst first: the aggregate of an active proton is its least advanced replica.
const SEVERITY: ProtonRuntimeStatus[] = ['errored', 'provisioning', 'launching', 'stopping', 'stopped', 'running'];

/** Aggregate proton status: the proton's lifecycle decides, else the worst replica wins. */
export function aggregateStatus(lifecycle: ProtonLifecycle, replicas: Array<Pick<ReplicaView, 'lifecycle' | 'ready' | 'joining'>>): ProtonRuntimeStatus {
  if (lifecycle === 'errored') return 'errored';
  if (lifecycle === 'stopping') return 'stopping';
  if (lifecycle === 'stopped') return 'stopped';
  // Replicas stopping because of a scale-down do not make an active proton any less running.
  const statuses = replicas.filter((r) => r.lifecycle !== 'stopping' && r.lifecycle !== 'stopped' && !(r.joining && r.lifecycle !== 'failed')).map(replicaStatus);
  if (statuses.length === 0) return 'running';
  return statuses.reduce((worst, s) => (SEVERITY.indexOf(s) < SEVERITY.indexOf(worst) ? s : worst));
}

function replicaPhase(r: ReplicaView): ReplicaPhase {
  switch (r.lifecycle) {
    case 'pending':
      return 'pending';
    case 'starting':
    case 'running':
    case 'backoff':
    case 'stopping':
      // Kubernetes keeps a restarting pod in phase Running.
      return 'running';
    case 'stopped':
      // Stopped on purpose, whatever the exit code of the SIGTERM/SIGKILL.
      return 'succeeded';
    case 'failed':
      return 'failed';
  }
}

function lastState(t: ReplicaTermination): ContainerLastState {
  return {
    status: 'terminated',
    reason: t.reason,
    exitCode: t.exitCode,
    signal: t.signal,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    ...(t.message ? { message: t.message } : {}),
  };
}

function containerSnapshot(r: ReplicaView): ContainerSnapshot {
  const base: ContainerSnapshot = {
    name: r.containerName,
    status: 'unknown',
    ready: r.ready,
    restartCount: r.restartCount,
    image: r.image,
    startedAt: r.startedAt,
  };
  switch (r.lifecycle) {
    case 'pending':
    case 'backoff':
      base.status = 'waiting';
      base.startedAt = null;
      base.reason = r.waitingReason ?? (r.lifecycle === 'pending' ? 'ContainerCreating' : 'CrashLoopBackOff');
      break;
    case 'starting':
    case 'running':
    case 'stopping':
      base.status = 'running';
      break;
    case 'stopped':
    case 'failed':
      if (r.terminated) {
        base.status = 'terminated';
        base.reason = r.terminated.reason;
        base.exitCode = r.terminated.exitCode;
        if (r.terminated.message) base.message = r.terminated.message;
      } else {
        base.status = 'waiting';
        base.startedAt = null;
        base.reason = r.waitingReason ?? 'Unknown';
      }
      break;
  }
  if (r.message && base.message === undefined) base.message = r.message;
  if (r.lastTermination) base.lastState = lastState(r.lastTermination);
  return base;
}

export function renderReplica(r: ReplicaView): ReplicaSnapshot {
  return {
    name: r.name,
    status: replicaPhase(r),
    address: r.address,
    startedAt: r.podStartedAt,
    conditions: r.conditions.map((c) => ({ ...c })),
    containers: [containerSnapshot(r)],
  };
}

export function summarize(status: ProtonRuntimeStatus, replicas: ReplicaView[], reason?: string): string {
  const active = replicas.filter((r) => r.lifecycle !== 'stopped' && r.lifecycle !== 'failed');
  const ready = active.filter((r) => r.ready).length;
  switch (status) {
    case 'errored':
      return reason ?? 'errored';
    case 'stopped':
      return 'stopped';
    case 'stopping':
      return `stopping ${active.length} replica(s)`;
    case 'running':
      return `${ready}/${active.length} replicas ready`;
    default: {
      const notes = active
        .filter((r) => !r.ready)
        .map((r) => {
          const why = r.lifecycle === 'backoff' ? r.waitingReason ?? 'CrashLoopBackOff' : r.lifecycle === 'pending' ? 'pending' : 'not ready';
          return `${r.name}: ${why}${r.restartCount ? ` (${r.restartCount} restarts)` : ''}`;
        });
      return [`${ready}/${active.length} replicas ready`, ...notes].join('; ');
    }
  }
}

export function renderSnapshot(status: ProtonRuntimeStatus, replicas: ReplicaView[], lastUpdated: string, reason?: string): ProtonSnapshot {
  return {
    overallStatus: { state: status, summary: summarize(status, replicas, reason), lastUpdated },
    replicas: replicas.map(renderReplica),
  };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** Shell convention: a process killed by signal N exits with 128+N. */
export function exitCodeOf(code: number | null, signal: string | null): number | null {
  if (code !== null) return code;
  return signal && SIGNALS[signal] ? 128 + SIGNALS[signal] : null;
}

/** Kubernetes-style reason of a termination nobody asked for. */
export function terminationReason(code: number | null, signal: string | null): string {
  if (code === 0) return 'Completed';
  if (signal === 'SIGKILL') return 'Killed';
  return 'Error';
}
