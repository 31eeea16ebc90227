import type { Container, LogBatch } from '@wcp/contracts';

/**
 * The runtime seam of the workload service: something that runs protons (one container group
 * of an artifact, N replicas). The local process driver implements it today; a Kubernetes
 * driver (docs/kubernetes-driver.md) implements the same port. Sagas call `ensureRunning`
 * and `stop`, projections listen to `onEvent`, the data plane reads `readyEndpoints`.
 */

/** Proton statuses the runtime reports (a subset of the API's proton statuses). */
export type ProtonRuntimeStatus = 'provisioning' | 'launching' | 'running' | 'errored' | 'stopping' | 'stopped';

/**
 * What one proton should run. Immutable per protonId; only `replicas` may change between calls:
 * that is scaling (0 included: a proton scaled to zero stays active and `running`, with no replica).
 */
export interface ProtonSpec {
  protonId: string;
  workloadId: string;
  /** Desired replica count (≥ 0). */
  replicas: number;
  /** The artifact's container group; exactly one is `primary` (it serves the port). */
  containers: Container[];
  /** Extra environment for every replica, applied under the container's own environmentVars. */
  env?: Record<string, string>;
  /** Per-replica allocation of the primary container (spec §2 resourceAllocation); memory is enforced, cpu reported. */
  resources?: { cpu: number; memoryBytes: number };
}

export interface StopOptions {
  /** Time between SIGTERM and SIGKILL (ms). */
  graceMs: number;
}

export interface StopResult {
  stopped: boolean;
  detail?: string;
}

export interface ShutdownOptions {
  /** true: stop every proton (graceful). false: leave replicas running for `recover` at the next boot. */
  stopReplicas: boolean;
  graceMs?: number;
}

export interface ReadyEndpoint {
  replica: string;
  /** host:port */
  address: string;
  /** Base URL to forward requests to, e.g. http://127.0.0.1:41234 */
  url: string;
}

/** CPU used so far by one replica's processes. */
export interface ReplicaCpuUsage {
  replica: string;
  /** Changes per launch: a restarted replica starts again from zero. */
  pid: number;
  cpuSeconds: number;
}

// --- Status details (spec/API.md "Status details"): the shape the API returns verbatim. ---

export type ReplicaPhase = 'pending' | 'running' | 'succeeded' | 'failed' | 'unknown';
export type ContainerStatusValue = 'running' | 'waiting' | 'terminated' | 'unknown';
export type ReplicaConditionType = 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready';

export interface ReplicaCondition {
  type: ReplicaConditionType;
  value: boolean;
  lastTransitionTime: string;
  reason: string | null;
  message: string | null;
}

export interface ContainerLastState {
  status: 'terminated';
  reason: string;
  exitCode: number | null;
  signal?: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  message?: string;
}

export interface ContainerSnapshot {
  name: string;
  status: ContainerStatusValue;
  ready: boolean;
  restartCount: number;
  image: string;
  startedAt: string | null;
  reason?: string;
  exitCode?: number | null;
  message?: string;
  lastState?: ContainerLastState;
}

export interface ReplicaSnapshot {
  name: string;
  status: ReplicaPhase;
  address: string | null;
  startedAt: string | null;
  conditions: ReplicaCondition[];
  containers: ContainerSnapshot[];
}

export interface ProtonSnapshot {
  overallStatus: { state: ProtonRuntimeStatus; summary: string; lastUpdated: string };
  replicas: ReplicaSnapshot[];
}

// --- Events ---

interface EventBase {
  protonId: string;
  workloadId: string;
  /** RFC 3339 UTC with milliseconds */
  at: string;
}

/**
 * Events of the runtime. `ProtonStatusChanged` is the complete stream of aggregate status
 * changes (for projections); `ProtonRunning`, `ProtonErrored` and `ProtonStopped` are the
 * milestones sagas wait for; replica events feed "Replica Restarted" and the data plane.
 */
export type RuntimeEvent =
  | (EventBase & { type: 'ReplicaStarted'; replica: string; pid: number; address: string; adopted: boolean })
  | (EventBase & { type: 'ReplicaReady'; replica: string; address: string })
  | (EventBase & { type: 'ReplicaNotReady'; replica: string; reason: string })
  | (EventBase & {
      type: 'ReplicaRestarted';
      replica: string;
      restartCount: number;
      reason: string;
      exitCode: number | null;
      signal: string | null;
      message?: string;
    })
  | (EventBase & { type: 'ProtonStatusChanged'; status: ProtonRuntimeStatus; previousStatus: ProtonRuntimeStatus | null; reason?: string })
  | (EventBase & { type: 'ProtonRunning'; readyReplicas: number })
  | (EventBase & { type: 'ProtonErrored'; reason: string })
  | (EventBase & { type: 'ProtonStopped'; detail?: string });

export type RuntimeEventListener = (event: RuntimeEvent) => void;

/**
 * Where a driver hands its replicas' output: one bounded batch of one replica's lines at a
 * time. Resolves once the batch is durable downstream (published); a rejection has the same
 * lines offered again later, so nothing is lost while the transport is down.
 */
export type LogSink = (batch: LogBatch) => Promise<void>;

export interface LogShipping {
  /** Stop reading; ship what is left for at most `timeoutMs`, and remember where to resume. */
  stop(timeoutMs?: number): Promise<void>;
}

/** How a driver enforces replicas' resourceAllocation on its host (reported in /health). */
export interface ResourceEnforcement {
  memory: string;
  cpu: string;
  detail: string;
}

export interface RuntimeDriver {
  /** Optional: what this driver enforces of resourceAllocation (the local driver probes its host at construction). */
  readonly enforcement?: ResourceEnforcement;
  /**
   * Make the proton run `spec.replicas` replicas. Idempotent: replicas that exist (running,
   * starting or backing off) are left alone, never started twice; only missing ones start and
   * surplus ones stop. On an errored or stopped proton it is a new attempt. Resolves once the
   * replicas are launched, not when ready (wait for ProtonRunning / ProtonErrored).
   */
  ensureRunning(spec: ProtonSpec): Promise<void>;
  /** SIGTERM every replica, SIGKILL after `graceMs`. Idempotent; an unknown proton is already stopped. */
  stop(protonId: string, options: StopOptions): Promise<StopResult>;
  /** Per-replica status details, or null until the first snapshot of this proton exists. */
  snapshot(protonId: string): ProtonSnapshot | null;
  /** Replicas the data plane may send requests to (alive and passing readiness). */
  readyEndpoints(protonId: string): ReadyEndpoint[];
  /**
   * Optional: CPU seconds each live replica of these protons has used so far (user + system, its
   * whole process group), for the autoscaler's cpuAverageUtilization; the caller turns two
   * readings into a rate. The local driver reads /proc; a Kubernetes driver has no need for it
   * (the HPA reads the metrics API itself, see docs/autoscaling.md).
   */
  cpuUsage?(protonIds: readonly string[]): Map<string, ReplicaCpuUsage[]>;
  /** Subscribe; returns the unsubscribe function. Listeners run synchronously and must not throw. */
  onEvent(listener: RuntimeEventListener): () => void;
  /**
   * At boot, before any ensureRunning: adopt leftover replicas of protons in `desired` (the
   * protons that should run) and kill every other leftover; then ensure `desired` run.
   */
  recover(desired: ProtonSpec[]): Promise<void>;
  /** Stop probes and timers; stop the replicas or leave them for the next boot's `recover`. */
  shutdown(options: ShutdownOptions): Promise<void>;
  /**
   * Optional: from now on, ship every replica's stdout/stderr lines to `sink`, resuming where
   * the last run stopped. Call before `recover`. The local driver tails its per-replica log
   * files; a Kubernetes driver would follow the kubelet's container logs (`pods/log`).
   */
  shipLogs?(sink: LogSink): LogShipping;
}

/** Injection token of the seam (the lead's Nest module binds the chosen driver to it). */
export const RUNTIME_DRIVER = Symbol('RUNTIME_DRIVER');
