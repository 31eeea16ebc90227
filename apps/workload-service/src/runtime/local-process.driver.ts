import { sampled } from '@wcp/metrics';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { closeSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Container } from '@wcp/contracts';
import { allocatePort } from './free-port';
import { imageRefusal, resolveImage, type ResolvedImage } from './image.catalog';
import { findProcessesWithEnv, isProcessAlive, readProcessEnv, signalGroup, sleep, terminateGroup } from './process-group';
import { probeHttp, probeTcp, probeTiming, type ProbeOutcome, type ProbeTiming } from './probe.runner';
import {
  aggregateStatus,
  exitCodeOf,
  initialConditions,
  renderSnapshot,
  setCondition,
  terminationReason,
  type ProtonLifecycle,
  type ReplicaTermination,
  type ReplicaView,
} from './proton-status';
import { hostPort, isWildcard, probeHostFor } from './replica-address';
import { replicaEnv } from './replica-env';
import { openReplicaLogs, ReplicaLogTailer, type LogTarget, type ReplicaLogOptions } from './replica-log.tailer';
import { ReplicaStateStore, type ReplicaRecord } from './replica-state.store';
import { decideExit } from './exit-policy';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './restart-backoff';
import { attachReplica, locateReplica, probeCgroups, removeParentGroups, sweepStaleGroups, type CgroupLayout, type ReplicaCgroup } from './cgroup.enforcer';
import { cpuSecondsByGroup, enforcementOf, MemoryWatchdog, procReadable, readStats, type EnforcementReport } from './resource-limits';
import type {
  LogShipping,
  LogSink,
  ProtonRuntimeStatus,
  ProtonSnapshot,
  ProtonSpec,
  ReadyEndpoint,
  ReplicaCpuUsage,
  RuntimeDriver,
  RuntimeEvent,
  RuntimeEventListener,
  ShutdownOptions,
  StopOptions,
  StopResult,
} from './runtime-driver';

export interface LocalProcessDriverOptions {
  /** Replica state (replicas.json) and logs/ live here; one directory per service instance. */
  stateDir: string;
  /** Operator image catalogs searched before the built-in one. */
  catalogDirs?: string[];
  /** Environment every replica starts from (e.g. PATH, TZ). The service's own environment is never inherited. */
  baseEnv?: Record<string, string>;
  /**
   * Address replicas listen on (handed to them as HOST); default loopback. A wildcard
   * (0.0.0.0, ::) makes them reachable from other hosts, e.g. a gateway in another container.
   */
  bindHost?: string;
  /** Host name or address put in replica URLs (what the gateway connects to); default the bind host. */
  advertiseHost?: string;
  /** Length of one probe "second" in ms; tests shrink it so probe configs in seconds run fast. */
  probeSecondMs?: number;
  /** Readiness of containers without a readinessProbe: the image's readinessPath, else a TCP connect. */
  defaultReadiness?: { periodMs: number; timeoutMs: number; failureThreshold: number };
  restartBackoff?: BackoffPolicy;
  /** Consecutive failed runs tolerated; one more and the proton is errored (crash loop). */
  maxRestarts?: number;
  /** A run at least this long resets the consecutive-failure count (ms). */
  stableRunMs?: number;
  /** A replica process not ready within this (plus its startup-probe budget) errors the proton (ms). */
  readyTimeoutMs?: number;
  /** How often liveness of adopted processes (not our children, so no exit event) is polled (ms). */
  pidPollMs?: number;
  /** SIGTERM→SIGKILL grace for liveness/startup restarts, scale-down and errored protons (ms). */
  restartGraceMs?: number;
  /** Wait for death after SIGKILL before reporting a replica as unkillable (ms). */
  killWaitMs?: number;
  /** How often the memory watchdog reads /proc (ms), where cgroups are not used; 0 turns the watchdog off. */
  memoryPollMs?: number;
  /** `auto`: kernel limits through cgroups where the host lets this process create groups (cgroup.enforcer.ts); `off`: never. */
  cgroups?: 'auto' | 'off';
  /** Tailing and rotation of the per-replica log files, once `shipLogs` is called. */
  logs?: ReplicaLogOptions;
  clock?: () => Date;
}


const log = new Logger('LocalProcessDriver');

interface Replica extends ReplicaView {
  index: number;
  port: number | null;
  pid: number | null;
  instanceId: string | null;
  child: ChildProcess | null;
  /** Found alive at boot: not our child, so exits are noticed by polling and exit codes are unknown. */
  adopted: boolean;
  /** Bumped per launch; timers and callbacks of an older process check it and fall silent. */
  generation: number;
  exitHandled: number;
  launching: boolean;
  timers: Set<NodeJS.Timeout>;
  exitWaiters: Array<() => void>;
  consecutiveFailures: number;
  portRetries: number;
  /** Set when the driver kills the process on purpose; becomes the termination reason. */
  killReason: string | null;
  killMessage?: string;
  everReadyThisRun: boolean;
  lastProbe: string | null;
  /** Stops the memory watchdog of the current process. */
  unwatchMemory: (() => void) | null;
  /** The kernel groups limiting the current process, when cgroups are in use. */
  cgroup: ReplicaCgroup | null;
}

interface Proton {
  spec: ProtonSpec;
  primary: Container | null;
  resolved: ResolvedImage | null;
  lifecycle: ProtonLifecycle;
  status: ProtonRuntimeStatus | null;
  reason?: string;
  replicas: Map<string, Replica>;
  lastUpdated: string;
  /** Kills started when the proton errored; stop() and a new attempt wait for them. */
  cleanup: Promise<unknown>;
}

/**
 * Runs each replica of a proton as a child process of a catalog image, on an allocated
 * loopback port, supervised by probes, restarted with back-off, and recorded in
 * `<stateDir>/replicas.json` so that a service killed with SIGKILL finds, adopts or kills
 * its replicas at the next boot (`recover`).
 */
export class LocalProcessDriver implements RuntimeDriver {
  private readonly stateDir: string;
  private readonly logsDir: string;
  private readonly store: ReplicaStateStore;
  private readonly bindHost: string;
  /** Where this process's probes connect: the bind host, or loopback for a wildcard bind. */
  private readonly probeHost: string;
  private readonly advertiseHost: string;
  private readonly probeSecondMs: number;
  private readonly defaultReadiness: { periodMs: number; timeoutMs: number; failureThreshold: number };
  private readonly backoff: BackoffPolicy;
  private readonly maxRestarts: number;
  private readonly stableRunMs: number;
  private readonly readyTimeoutMs: number;
  private readonly pidPollMs: number;
  private readonly restartGraceMs: number;
  private readonly killWaitMs: number;
  private readonly clock: () => Date;
  private readonly protons = new Map<string, Proton>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<RuntimeEventListener>();
  private logs: ReplicaLogTailer | null = null;
  /** What this host enforces (probed once); /health reports it. */
  readonly enforcement: EnforcementReport;
  private memoryWatchdog: MemoryWatchdog | null;
  private readonly cgroups: CgroupLayout | null;
  private recovered = false;
  private closed = false;

  constructor(private readonly options: LocalProcessDriverOptions) {
    this.stateDir = resolve(options.stateDir);
    this.logsDir = join(this.stateDir, 'logs');
    mkdirSync(this.logsDir, { recursive: true });
    this.store = new ReplicaStateStore(this.stateDir);
    // Bare: replicas pass it to listen(), which takes `::`, not `[::]`.
    this.bindHost = (options.bindHost ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
    this.probeHost = probeHostFor(this.bindHost);
    if (!options.advertiseHost && isWildcard(this.bindHost)) throw new Error(`replicas bound to ${this.bindHost} need an advertise host (the address others reach them at)`);
    this.advertiseHost = options.advertiseHost ?? this.bindHost;
    this.probeSecondMs = options.probeSecondMs ?? 1000;
    this.defaultReadiness = options.defaultReadiness ?? { periodMs: 1000, timeoutMs: 1000, failureThreshold: 3 };
    this.backoff = options.restartBackoff ?? DEFAULT_BACKOFF;
    this.maxRestarts = options.maxRestarts ?? 5;
    this.stableRunMs = options.stableRunMs ?? 60_000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 300_000;
    this.pidPollMs = options.pidPollMs ?? 1000;
    this.restartGraceMs = options.restartGraceMs ?? 5000;
    this.killWaitMs = options.killWaitMs ?? 2000;
    this.clock = options.clock ?? (() => new Date());
    this.unsample = sampled('gauge', 'wcp_replicas', 'Replicas this instance runs, by phase (as in statusDetails).', ['state'], (add) => {
      for (const id of this.protons.keys()) for (const r of this.snapshot(id)?.replicas ?? []) add({ state: r.status }, 1);
    });
    const probed = options.cgroups === 'off' ? { layout: null, detail: 'turned off (RUNTIME_CGROUPS=off)' } : probeCgroups(process.pid);
    this.cgroups = probed.layout;
    if (this.cgroups) sweepStaleGroups(this.cgroups, isProcessAlive);
    this.enforcement = enforcementOf({
      procReadable: procReadable(),
      watchdog: options.memoryPollMs !== 0,
      cgroups: this.cgroups && { version: this.cgroups.version, cpu: this.cgroups.cpu !== null },
      cgroupDetail: probed.detail,
    });
    this.memoryWatchdog = this.enforcement.memory === 'rss-watchdog' ? new MemoryWatchdog(options.memoryPollMs ?? 250) : null;
  }

  private readonly unsample: () => void;

  // ---------------------------------------------------------------- port

  ensureRunning(spec: ProtonSpec): Promise<void> {
    if (this.closed) return Promise.reject(new Error('runtime driver is shut down'));
    return this.serialize(spec.protonId, () => this.doEnsureRunning(spec));
  }

  stop(protonId: string, options: StopOptions): Promise<StopResult> {
    return this.serialize(protonId, () => this.doStop(protonId, options.graceMs));
  }

  snapshot(protonId: string): ProtonSnapshot | null {
    const p = this.protons.get(protonId);
    if (!p) return null;
    const status = p.status ?? aggregateStatus(p.lifecycle, [...p.replicas.values()]);
    return renderSnapshot(status, this.sortedReplicas(p), p.lastUpdated, p.reason);
  }

  running(): Array<{ protonId: string; workloadId: string }> {
    return [...this.protons.values()].filter((p) => p.lifecycle === 'active').map((p) => ({ protonId: p.spec.protonId, workloadId: p.spec.workloadId }));
  }

  readyEndpoints(protonId: string): ReadyEndpoint[] {
    const p = this.protons.get(protonId);
    if (!p || p.lifecycle !== 'active') return [];
    return this.sortedReplicas(p)
      .filter((r) => r.ready && r.pid !== null && r.port !== null)
      .map((r) => ({ replica: r.name, address: hostPort(this.advertiseHost, r.port!), url: `http://${hostPort(this.advertiseHost, r.port!)}` }));
  }

  cpuUsage(protonIds: readonly string[]): Map<string, ReplicaCpuUsage[]> {
    const byGroup = new Map<number, { protonId: string; replica: string }>();
    for (const id of protonIds) {
      const p = this.protons.get(id);
      if (!p || p.lifecycle !== 'active') continue;
      // Each replica leads its own process group (detached spawn): its pid is the group id.
      for (const r of p.replicas.values()) if (r.pid !== null && r.lifecycle !== 'stopping') byGroup.set(r.pid, { protonId: id, replica: r.name });
    }
    const usage = new Map<string, ReplicaCpuUsage[]>(protonIds.map((id) => [id, []]));
    if (byGroup.size === 0) return usage;
    for (const [pgid, cpuSeconds] of cpuSecondsByGroup(readStats(), new Set(byGroup.keys()))) {
      const owner = byGroup.get(pgid)!;
      usage.get(owner.protonId)?.push({ replica: owner.replica, pid: pgid, cpuSeconds });
    }
    return usage;
  }

  onEvent(listener: RuntimeEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  shipLogs(sink: LogSink): LogShipping {
    if (this.logs) throw new Error('logs are shipped already');
    const tailer = new ReplicaLogTailer(this.logsDir, join(this.stateDir, 'log-cursors.json'), sink, this.options.logs, this.clock);
    this.logs = tailer;
    tailer.start();
    for (const p of this.protons.values()) for (const r of p.replicas.values()) if (r.pid !== null && r.instanceId) tailer.adopted(logTarget(p, r), r.instanceId);
    if (this.recovered) tailer.settle();
    return tailer;
  }

  async recover(desired: ProtonSpec[], options: { knownOnly?: boolean } = {}): Promise<void> {
    const wanted = new Map(desired.map((s) => [s.protonId, s]));
    const records = this.store.load();
    // Instance ids this driver supervises: never killed by the marker scan below.
    const adopted = new Set<string>();
    for (const p of this.protons.values()) for (const r of p.replicas.values()) if (r.instanceId) adopted.add(r.instanceId);
    const kills: Array<Promise<unknown>> = [];
    const now = this.now();

    for (const rec of records) {
      const alive = isProcessAlive(rec.pid) && this.owns(rec.pid, rec.instanceId);
      const spec = wanted.get(rec.protonId);
      let p = spec ? this.protons.get(spec.protonId) : undefined;
      if (spec && !p) {
        p = this.createProton(spec);
        this.protons.set(spec.protonId, p);
      }
      const fits = !!spec && !!p && p.lifecycle === 'active' && rec.index < spec.replicas && !p.replicas.has(rec.replica);
      if (!alive) {
        // Died while nobody watched: the replacement counts as a restart of the same replica.
        if (fits && p) this.restoreDeadReplica(p, rec, now);
        continue;
      }
      if (fits && p) {
        this.adopt(p, rec);
        adopted.add(rec.instanceId);
      } else {
        kills.push(terminateGroup(rec.pid, this.restartGraceMs, this.killWaitMs));
      }
    }
    // Replicas launched but never recorded (killed between spawn and the state write) carry our marker.
    for (const { pid, env } of findProcessesWithEnv('WCP_RUNTIME_DIR', this.stateDir)) {
      if (!adopted.has(env.WCP_REPLICA_ID ?? '')) kills.push(terminateGroup(pid, this.restartGraceMs, this.killWaitMs));
    }
    await Promise.all(kills);
    this.persist();
    const known = new Set(records.map((r) => r.protonId));
    for (const spec of desired) if (!options.knownOnly || known.has(spec.protonId)) await this.ensureRunning(spec);
    this.recovered = true;
    this.logs?.settle();
  }

  async shutdown(options: ShutdownOptions): Promise<void> {
    this.unsample();
    if (options.stopReplicas) {
      const graceMs = options.graceMs ?? this.restartGraceMs;
      await Promise.all([...this.protons.keys()].map((id) => this.stop(id, { graceMs })));
    }
    this.closed = true;
    this.memoryWatchdog?.close();
    // Empty once every replica stopped; replicas left running for the next boot keep theirs.
    if (this.cgroups) removeParentGroups(this.cgroups);
    for (const p of this.protons.values()) {
      for (const r of p.replicas.values()) {
        this.clearTimers(r);
        r.child?.removeAllListeners();
      }
    }
    if (!options.stopReplicas) this.persist();
  }

  // ---------------------------------------------------------------- lifecycle

  private async doEnsureRunning(spec: ProtonSpec): Promise<void> {
    let p = this.protons.get(spec.protonId);
    if (p && (p.lifecycle === 'stopped' || p.lifecycle === 'errored')) {
      await p.cleanup;
      p = undefined;
    }
    if (!p) {
      p = this.createProton(spec);
      this.protons.set(spec.protonId, p);
    } else {
      p.spec = { ...p.spec, replicas: spec.replicas };
    }
    if (p.lifecycle !== 'active') return;

    const launches: Array<Promise<void>> = [];
    // A scale-up of a running proton (from zero too) keeps it running while the new replicas start.
    const joining = p.status === 'running';
    for (let i = 0; i < spec.replicas; i++) {
      const name = replicaName(spec.protonId, i);
      let r = p.replicas.get(name);
      if (!r) {
        r = this.newReplica(p, i);
        r.joining = joining;
        p.replicas.set(name, r);
      }
      if (r.lifecycle === 'pending' && !r.launching) launches.push(this.launch(p, r));
    }
    await Promise.all(launches);
    const surplus = [...p.replicas.values()].filter((r) => r.index >= spec.replicas);
    await Promise.all(
      surplus.map(async (r) => {
        this.clearTimers(r);
        r.lifecycle = 'stopping';
        this.setReady(p, r, false, 'ScaledDown');
        if (await this.terminateReplica(p, r, this.restartGraceMs)) p.replicas.delete(r.name);
      }),
    );
    this.touch(p);
  }

  private async doStop(protonId: string, graceMs: number): Promise<StopResult> {
    const p = this.protons.get(protonId);
    if (!p) return { stopped: true, detail: 'not running' };
    if (p.lifecycle === 'stopped') return { stopped: true, detail: 'already stopped' };
    p.lifecycle = 'stopping';
    for (const r of p.replicas.values()) {
      this.clearTimers(r);
      if (r.lifecycle === 'failed') continue;
      r.lifecycle = r.pid === null ? 'stopped' : 'stopping';
      if (r.ready) this.setReady(p, r, false, 'Stopping');
    }
    this.touch(p);
    await p.cleanup;
    await Promise.all([...p.replicas.values()].map((r) => this.terminateReplica(p, r, graceMs)));
    const survivors = [...p.replicas.values()].filter((r) => r.pid !== null && isProcessAlive(r.pid));
    if (survivors.length > 0) {
      return { stopped: false, detail: `still running after SIGKILL: ${survivors.map((r) => `${r.name} (pid ${r.pid})`).join(', ')}` };
    }
    p.lifecycle = 'stopped';
    this.persist();
    this.touch(p);
    return { stopped: true };
  }

  private createProton(spec: ProtonSpec): Proton {
    const containers = spec.containers ?? [];
    const primary = containers.find((c) => c.primary) ?? (containers.length === 1 ? containers[0] : null);
    const p: Proton = {
      spec: { ...spec },
      primary,
      resolved: null,
      lifecycle: 'active',
      status: null,
      replicas: new Map(),
      lastUpdated: this.now(),
      cleanup: Promise.resolve(),
    };
    let refusal: string | null = null;
    if (!primary) {
      refusal = 'the container group has no primary container';
    } else {
      const resolveOptions = { catalogDirs: this.options.catalogDirs, entrypoint: primary.entrypoint ?? [] };
      try {
        p.resolved = resolveImage(primary.imageUri, resolveOptions);
        if (!p.resolved) refusal = imageRefusal(primary.imageUri, resolveOptions);
      } catch (err) {
        refusal = `image catalog unreadable: ${(err as Error).message}`;
      }
    }
    if (refusal !== null) {
      for (let i = 0; i < spec.replicas; i++) {
        const r = this.newReplica(p, i);
        r.waitingReason = primary ? 'ErrImageNotFound' : 'InvalidSpec';
        r.message = refusal;
        p.replicas.set(r.name, r);
      }
      this.failProton(p, refusal);
    }
    return p;
  }

  private newReplica(p: Proton, index: number): Replica {
    const now = this.now();
    return {
      name: replicaName(p.spec.protonId, index),
      index,
      containerName: p.primary?.name ?? 'main',
      image: p.primary?.imageUri ?? '',
      lifecycle: 'pending',
      address: null,
      podStartedAt: null,
      startedAt: null,
      ready: false,
      restartCount: 0,
      conditions: setCondition(initialConditions(now), 'PodScheduled', true, now),
      port: null,
      pid: null,
      instanceId: null,
      child: null,
      adopted: false,
      generation: 0,
      exitHandled: 0,
      launching: false,
      timers: new Set(),
      exitWaiters: [],
      consecutiveFailures: 0,
      portRetries: 0,
      killReason: null,
      everReadyThisRun: false,
      lastProbe: null,
      unwatchMemory: null,
      cgroup: null,
    };
  }

  private async launch(p: Proton, r: Replica): Promise<void> {
    if (p.lifecycle !== 'active' || this.closed || !p.resolved || !p.primary) return;
    const gen = ++r.generation;
    r.launching = true;
    try {
      if (r.port === null) r.port = await allocatePort(this.bindHost, this.portsInUse(r));
    } catch (err) {
      r.launching = false;
      this.failProton(p, `no free port for replica ${r.name}: ${(err as Error).message}`);
      return;
    }
    r.launching = false;
    if (gen !== r.generation || p.lifecycle !== 'active' || this.closed) return;

    const now = this.now();
    const instanceId = randomUUID();
    const env = replicaEnv(this.options.baseEnv ?? {}, p.spec.env ?? {}, p.primary.environmentVars ?? [], {
      PORT: String(r.port),
      HOST: this.bindHost,
      REPLICA_NAME: r.name,
      WCP_REPLICA_ID: instanceId,
      WCP_PROTON_ID: p.spec.protonId,
      WCP_WORKLOAD_ID: p.spec.workloadId,
      WCP_RUNTIME_DIR: this.stateDir,
    });

    // Files, not pipes: the replica must be able to keep writing after a crash of the service.
    const fds = openReplicaLogs(this.logsDir, r.name, `--- ${now} start ${p.resolved.image} replica=${r.name} port=${r.port} restartCount=${r.restartCount} instance=${instanceId}`);
    let child: ChildProcess;
    try {
      this.logs?.launched(logTarget(p, r), instanceId);
      // detached: own process group, so a stop reaches everything it forks and it outlives a crash of ours.
      child = spawn(p.resolved.command, p.resolved.args, { cwd: this.stateDir, env, detached: true, stdio: ['ignore', ...fds] });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    child.unref();
    child.once('error', (err) => this.onExit(p, r, gen, null, null, err.message));
    child.once('exit', (code, signal) => this.onExit(p, r, gen, code, signal));
    if (child.pid === undefined) return;

    r.pid = child.pid;
    r.child = child;
    r.instanceId = instanceId;
    r.adopted = false;
    this.markStarted(p, r, now);
    this.limit(p, r, gen);
    // Recorded right after spawn: from here on a crash of the service leaves a findable replica.
    this.persist();
    this.emit(p, { type: 'ReplicaStarted', replica: r.name, pid: r.pid, address: r.address ?? '', adopted: false });
    this.supervise(p, r, gen, true);
    this.touch(p);
  }

  private markStarted(p: Proton, r: Replica, startedAt: string): void {
    const now = this.now();
    r.lifecycle = 'starting';
    r.startedAt = startedAt;
    r.podStartedAt ??= startedAt;
    r.address = hostPort(this.advertiseHost, r.port!);
    r.ready = false;
    r.everReadyThisRun = false;
    r.waitingReason = undefined;
    r.message = undefined;
    r.terminated = undefined;
    r.killReason = null;
    r.killMessage = undefined;
    r.lastProbe = null;
    r.conditions = setCondition(r.conditions, 'Initialized', true, now);
    r.conditions = setCondition(r.conditions, 'ContainersReady', false, now);
    r.conditions = setCondition(r.conditions, 'Ready', false, now);
  }

  private adopt(p: Proton, rec: ReplicaRecord): void {
    const r = this.newReplica(p, rec.index);
    p.replicas.set(r.name, r);
    const gen = ++r.generation;
    r.pid = rec.pid;
    r.port = rec.port;
    r.instanceId = rec.instanceId;
    r.adopted = true;
    r.restartCount = rec.restartCount;
    r.podStartedAt = rec.podStartedAt;
    this.markStarted(p, r, rec.startedAt);
    // Its kernel limits outlived us; only a replica outside our groups needs the watchdog.
    r.cgroup = this.cgroups ? locateReplica(this.cgroups, rec.pid) : null;
    if (!r.cgroup) this.watchMemory(p, r, gen);
    this.logs?.adopted(logTarget(p, r), rec.instanceId);
    this.emit(p, { type: 'ReplicaStarted', replica: r.name, pid: rec.pid, address: r.address ?? '', adopted: true });
    // It passed its startup phase in the previous life of the service; readiness must be proven again.
    this.supervise(p, r, gen, false);
    this.schedulePidPoll(p, r, gen);
    this.touch(p);
  }

  private restoreDeadReplica(p: Proton, rec: ReplicaRecord, now: string): void {
    const r = this.newReplica(p, rec.index);
    p.replicas.set(r.name, r);
    r.port = rec.port;
    r.podStartedAt = rec.podStartedAt;
    r.restartCount = rec.restartCount + 1;
    r.lastTermination = {
      reason: 'Unknown',
      exitCode: null,
      signal: null,
      startedAt: rec.startedAt,
      finishedAt: now,
      message: 'exited while the workload service was down',
    };
    this.emit(p, {
      type: 'ReplicaRestarted',
      replica: r.name,
      restartCount: r.restartCount,
      reason: 'Unknown',
      exitCode: null,
      signal: null,
      message: r.lastTermination.message,
    });
  }

  private onExit(p: Proton, r: Replica, gen: number, code: number | null, signal: NodeJS.Signals | null, errorMessage?: string): void {
    if (gen !== r.generation || r.exitHandled === gen || r.pid === null) return;
    r.exitHandled = gen;
    this.clearTimers(r);
    r.unwatchMemory?.();
    r.unwatchMemory = null;
    const kernelOom = r.killReason === null && (r.cgroup?.oomKills() ?? 0) > 0;
    if (kernelOom) {
      r.killReason = 'OOMKilled';
      r.killMessage = `killed by the kernel's OOM killer at the memory limit of ${p.spec.resources?.memoryBytes ?? '?'} bytes (cgroup ${this.cgroups?.version})`;
    }
    r.cgroup?.remove();
    r.cgroup = null;
    const now = this.now();
    // An adopted process's exit is seen by polling, without a status: the kernel's kill is SIGKILL.
    if (kernelOom && code === null && signal === null) signal = 'SIGKILL';
    const exitCode = exitCodeOf(code, signal);
    const natural = r.adopted && code === null && signal === null ? 'Unknown' : terminationReason(code, signal);
    const termination: ReplicaTermination = {
      reason: r.killReason ?? natural,
      exitCode,
      signal,
      startedAt: r.startedAt,
      finishedAt: now,
    };
    const message = r.killMessage ?? errorMessage ?? (r.adopted && code === null ? 'exit status unknown (adopted process)' : undefined);
    if (message) termination.message = message;
    const runMs = Date.parse(now) - Date.parse(r.startedAt ?? now);
    const wasReady = r.ready;
    r.pid = null;
    r.child = null;
    r.instanceId = null;
    r.adopted = false;
    this.logs?.exited(r.name);
    if (wasReady) this.setReady(p, r, false, termination.reason);
    this.persist();
    const waiters = r.exitWaiters.splice(0);
    try {
      if (this.closed) return;
      const decision = decideExit(
        {
          wanted: p.lifecycle === 'active' && r.lifecycle !== 'stopping' && r.lifecycle !== 'stopped' && r.lifecycle !== 'failed',
          exitCode: code,
          everReadyThisRun: r.everReadyThisRun,
          portRetries: r.portRetries,
          runMs,
          consecutiveFailures: r.consecutiveFailures,
        },
        { stableRunMs: this.stableRunMs, maxRestarts: this.maxRestarts, backoff: this.backoff },
      );
      if (decision.kind === 'stopped') {
        if (r.lifecycle !== 'failed') r.lifecycle = 'stopped';
        r.terminated ??= termination;
        this.touch(p);
        return;
      }
      if (decision.kind === 'retry-port') {
        r.portRetries++;
        r.port = null;
        r.lifecycle = 'pending';
        void this.launch(p, r);
        return;
      }
      r.portRetries = 0;
      r.consecutiveFailures = decision.consecutiveFailures;
      if (decision.kind === 'crash-loop') {
        r.lifecycle = 'failed';
        r.terminated = termination;
        this.failProton(
          p,
          `replica ${r.name} is crash-looping: ${r.consecutiveFailures} failed runs in a row (last: ${termination.reason}, exit code ${exitCode ?? 'unknown'}${termination.message ? `, ${termination.message}` : ''})`,
        );
        return;
      }
      r.restartCount++;
      r.lastTermination = termination;
      r.lifecycle = 'backoff';
      r.waitingReason = 'CrashLoopBackOff';
      const delay = decision.delayMs;
      r.message = `back-off ${delay} ms restarting failed container`;
      this.emit(p, {
        type: 'ReplicaRestarted',
        replica: r.name,
        restartCount: r.restartCount,
        reason: termination.reason,
        exitCode,
        signal,
        ...(termination.message ? { message: termination.message } : {}),
      });
      this.touch(p);
      this.schedule(r, gen, delay, () => {
        if (r.lifecycle !== 'backoff' || p.lifecycle !== 'active') return;
        r.lifecycle = 'pending';
        void this.launch(p, r);
      });
    } finally {
      for (const w of waiters) w();
    }
  }

  /** Errored is terminal for this attempt: every replica is killed and nothing restarts. */
  private failProton(p: Proton, reason: string, culprit?: Replica, culpritReason?: string): void {
    if (p.lifecycle !== 'active') return;
    p.lifecycle = 'errored';
    p.reason = reason;
    const kills: Array<Promise<boolean>> = [];
    for (const r of p.replicas.values()) {
      this.clearTimers(r);
      if (r.ready) this.setReady(p, r, false, 'ProtonErrored');
      if (r.pid !== null) {
        r.killReason = r === culprit ? (culpritReason ?? 'Error') : 'ProtonErrored';
        r.killMessage = r === culprit ? reason : undefined;
        r.lifecycle = 'failed';
        kills.push(this.terminateReplica(p, r, this.restartGraceMs));
      } else if (r.lifecycle !== 'failed' && r.lifecycle !== 'pending') {
        r.lifecycle = 'failed';
      }
    }
    p.cleanup = Promise.all(kills);
    this.touch(p);
  }

  /** SIGTERM, grace, SIGKILL; resolves true once the process is gone and its exit was recorded. */
  private async terminateReplica(p: Proton, r: Replica, graceMs: number): Promise<boolean> {
    const pid = r.pid;
    const gen = r.generation;
    if (pid === null) return true;
    if (r.adopted && !this.owns(pid, r.instanceId)) {
      // Gone, or the pid now belongs to someone else: never signal it.
      this.onExit(p, r, gen, null, null);
      return true;
    }
    const exitRecorded = new Promise<void>((done) => r.exitWaiters.push(done));
    const outcome = await terminateGroup(pid, graceMs, this.killWaitMs);
    if (outcome === 'alive') return false;
    if (r.adopted) {
      // No exit status for a process that is not our child; how it went is all we know.
      r.killReason ??= outcome === 'terminated' ? 'Completed' : 'Killed';
      this.onExit(p, r, gen, null, outcome === 'killed' ? 'SIGKILL' : null);
    }
    await Promise.race([exitRecorded, sleep(1000)]);
    if (r.pid === pid) this.onExit(p, r, gen, null, null);
    return true;
  }

  // ---------------------------------------------------------------- probes

  private supervise(p: Proton, r: Replica, gen: number, withStartup: boolean): void {
    const c = p.primary;
    const startup = withStartup && c?.startupProbe ? probeTiming(c.startupProbe, this.probeSecondMs) : null;
    const startupBudget = startup ? startup.initialDelayMs + startup.periodMs * startup.failureThreshold : 0;
    this.schedule(r, gen, this.readyTimeoutMs + startupBudget, () => {
      if (r.everReadyThisRun || p.lifecycle !== 'active') return;
      const secs = Math.round((this.readyTimeoutMs + startupBudget) / 100) / 10;
      this.failProton(p, `replica ${r.name} did not become ready within ${secs} s (last probe: ${r.lastProbe ?? 'none'})`, r, 'ReadinessTimeout');
    });
    if (!startup) {
      r.lifecycle = 'running';
      this.startReadinessAndLiveness(p, r, gen);
      return;
    }
    let failures = 0;
    this.probeLoop(r, gen, startup, (outcome) => {
      r.lastProbe = `startup ${outcome.detail}`;
      if (outcome.ok) {
        r.lifecycle = 'running';
        this.touch(p);
        this.startReadinessAndLiveness(p, r, gen);
        return false;
      }
      if (++failures >= startup.failureThreshold) {
        this.restartReplica(p, r, 'StartupProbeFailed', `startup probe failed ${failures} times: ${outcome.detail}`);
        return false;
      }
      return true;
    });
  }

  private startReadinessAndLiveness(p: Proton, r: Replica, gen: number): void {
    const c = p.primary;
    const readiness: ProbeTiming = c?.readinessProbe
      ? probeTiming(c.readinessProbe, this.probeSecondMs)
      : { path: p.resolved?.readinessPath ?? null, initialDelayMs: 0, periodMs: this.defaultReadiness.periodMs, timeoutMs: this.defaultReadiness.timeoutMs, failureThreshold: this.defaultReadiness.failureThreshold, successThreshold: 1 };
    let successes = 0;
    let failures = 0;
    this.probeLoop(r, gen, readiness, (outcome) => {
      r.lastProbe = `readiness ${outcome.detail}`;
      if (outcome.ok) {
        failures = 0;
        if (!r.ready && ++successes >= readiness.successThreshold) this.setReady(p, r, true);
      } else {
        successes = 0;
        if (r.ready && ++failures >= readiness.failureThreshold) this.setReady(p, r, false, 'ReadinessProbeFailed', outcome.detail);
      }
      return true;
    });
    if (!c?.livenessProbe) return;
    const liveness = probeTiming(c.livenessProbe, this.probeSecondMs);
    let liveFailures = 0;
    this.probeLoop(r, gen, liveness, (outcome) => {
      if (outcome.ok) {
        liveFailures = 0;
        return true;
      }
      if (++liveFailures >= liveness.failureThreshold) {
        this.restartReplica(p, r, 'LivenessProbeFailed', `liveness probe failed ${liveFailures} times: ${outcome.detail}`);
        return false;
      }
      return true;
    });
  }

  /** Kill for a restart: the exit (event or pid poll) then takes the ordinary restart path. */
  private restartReplica(p: Proton, r: Replica, reason: string, message: string): void {
    const pid = r.pid;
    if (pid === null) return;
    r.killReason = reason;
    r.killMessage = message;
    if (r.ready) this.setReady(p, r, false, reason, message);
    if (r.adopted && !this.owns(pid, r.instanceId)) return;
    signalGroup(pid, 'SIGTERM');
    this.schedule(r, r.generation, this.restartGraceMs, () => {
      if (r.pid === pid && isProcessAlive(pid)) signalGroup(pid, 'SIGKILL');
    });
  }

  /**
   * Kernel limits where cgroups are in use (the watchdog where attaching fails, e.g. a group
   * removed under us), else the watchdog.
   */
  private limit(p: Proton, r: Replica, gen: number): void {
    const resources = p.spec.resources;
    if (this.cgroups && resources && r.pid !== null) {
      try {
        r.cgroup = attachReplica(this.cgroups, `${r.name}-${gen}-${randomUUID().slice(0, 8)}`, r.pid, { memoryBytes: resources.memoryBytes, cpu: resources.cpu });
        return;
      } catch (err) {
        if (this.options.memoryPollMs !== 0) this.memoryWatchdog ??= new MemoryWatchdog(this.options.memoryPollMs ?? 250);
        log.warn(`replica ${r.name}: cgroup limits not applied (${(err as Error).message}); memory watched over /proc instead`);
      }
    }
    this.watchMemory(p, r, gen);
  }

  /**
   * Over its memory limit a replica's group is SIGKILLed at once, as the kernel's OOM killer
   * would: no grace, reason OOMKilled (exit code 137), then the ordinary restart path.
   */
  private watchMemory(p: Proton, r: Replica, gen: number): void {
    const limit = p.spec.resources?.memoryBytes;
    const pid = r.pid;
    if (!this.memoryWatchdog || !limit || pid === null) return;
    r.unwatchMemory = this.memoryWatchdog.watch(pid, limit, (rss) => {
      if (gen !== r.generation || r.pid !== pid || r.killReason !== null) return;
      if (r.adopted && !this.owns(pid, r.instanceId)) return;
      r.killReason = 'OOMKilled';
      r.killMessage = `resident memory ${rss} bytes exceeded the limit of ${limit} bytes`;
      if (r.ready) this.setReady(p, r, false, 'OOMKilled', r.killMessage);
      signalGroup(pid, 'SIGKILL');
    });
  }

  /** Probes run one at a time per loop (no overlap when a probe is slower than its period). */
  private probeLoop(r: Replica, gen: number, timing: ProbeTiming, handle: (outcome: ProbeOutcome) => boolean): void {
    const tick = async () => {
      const port = r.port;
      if (port === null || r.pid === null) return;
      const outcome = timing.path
        ? await probeHttp(this.probeHost, port, timing.path, timing.timeoutMs)
        : await probeTcp(this.probeHost, port, timing.timeoutMs);
      if (gen !== r.generation || this.closed || r.pid === null || r.killReason !== null) return;
      if (r.lifecycle !== 'starting' && r.lifecycle !== 'running') return;
      if (handle(outcome)) this.schedule(r, gen, timing.periodMs, () => void tick());
    };
    this.schedule(r, gen, timing.initialDelayMs, () => void tick());
  }

  private schedulePidPoll(p: Proton, r: Replica, gen: number): void {
    this.schedule(r, gen, this.pidPollMs, () => {
      if (r.pid === null) return;
      if (!isProcessAlive(r.pid)) this.onExit(p, r, gen, null, null);
      else this.schedulePidPoll(p, r, gen);
    });
  }

  private setReady(p: Proton, r: Replica, ready: boolean, reason: string | null = null, message: string | null = null): void {
    if (r.ready === ready) return;
    const now = this.now();
    r.ready = ready;
    if (ready) {
      r.everReadyThisRun = true;
      r.joining = false;
    }
    r.conditions = setCondition(r.conditions, 'ContainersReady', ready, now, ready ? null : reason, message);
    r.conditions = setCondition(r.conditions, 'Ready', ready, now, ready ? null : reason, message);
    if (ready) this.emit(p, { type: 'ReplicaReady', replica: r.name, address: r.address ?? '' });
    else this.emit(p, { type: 'ReplicaNotReady', replica: r.name, reason: reason ?? 'NotReady' });
    this.touch(p);
  }

  // ---------------------------------------------------------------- plumbing

  /** Records the change and emits the aggregate status when it moved. */
  private touch(p: Proton): void {
    p.lastUpdated = this.now();
    const status = aggregateStatus(p.lifecycle, [...p.replicas.values()]);
    if (status === p.status) return;
    const previousStatus = p.status;
    p.status = status;
    this.emit(p, { type: 'ProtonStatusChanged', status, previousStatus, ...(status === 'errored' && p.reason ? { reason: p.reason } : {}) });
    if (status === 'running') {
      this.emit(p, { type: 'ProtonRunning', readyReplicas: [...p.replicas.values()].filter((r) => r.ready).length });
    } else if (status === 'errored') {
      this.emit(p, { type: 'ProtonErrored', reason: p.reason ?? 'errored' });
    } else if (status === 'stopped') {
      this.emit(p, { type: 'ProtonStopped' });
    }
  }

  private emit(p: Proton, event: DistributiveOmit<RuntimeEvent, 'protonId' | 'workloadId' | 'at'>): void {
    const full = { ...event, protonId: p.spec.protonId, workloadId: p.spec.workloadId, at: this.now() } as RuntimeEvent;
    for (const listener of [...this.listeners]) {
      try {
        listener(full);
      } catch {
        // A failing listener must not break supervision of the replicas.
      }
    }
  }

  private persist(): void {
    const records: ReplicaRecord[] = [];
    for (const p of this.protons.values()) {
      for (const r of p.replicas.values()) {
        if (r.pid === null || r.instanceId === null || r.port === null) continue;
        records.push({
          instanceId: r.instanceId,
          protonId: p.spec.protonId,
          workloadId: p.spec.workloadId,
          replica: r.name,
          index: r.index,
          pid: r.pid,
          port: r.port,
          image: r.image,
          podStartedAt: r.podStartedAt ?? r.startedAt ?? this.now(),
          startedAt: r.startedAt ?? this.now(),
          restartCount: r.restartCount,
        });
      }
    }
    this.store.save(records);
  }

  private owns(pid: number, instanceId: string | null): boolean {
    const env = readProcessEnv(pid);
    return !!env && !!instanceId && env.WCP_REPLICA_ID === instanceId && env.WCP_RUNTIME_DIR === this.stateDir;
  }

  private portsInUse(except: Replica): Set<number> {
    const ports = new Set<number>();
    for (const p of this.protons.values()) for (const r of p.replicas.values()) if (r !== except && r.port !== null) ports.add(r.port);
    return ports;
  }

  private schedule(r: Replica, gen: number, delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      r.timers.delete(timer);
      if (gen === r.generation && !this.closed) fn();
    }, delayMs);
    timer.unref();
    r.timers.add(timer);
  }

  private clearTimers(r: Replica): void {
    for (const t of r.timers) clearTimeout(t);
    r.timers.clear();
  }

  /** One operation at a time per proton: a stop never interleaves with a start of the same proton. */
  private serialize<T>(protonId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(protonId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.queues.set(protonId, settled);
    void settled.then(() => {
      if (this.queues.get(protonId) === settled) this.queues.delete(protonId);
    });
    return next;
  }

  private sortedReplicas(p: Proton): Replica[] {
    return [...p.replicas.values()].sort((a, b) => a.index - b.index);
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function logTarget(p: Proton, r: Replica): LogTarget {
  return { replica: r.name, workloadId: p.spec.workloadId, protonId: p.spec.protonId, container: p.primary?.name ?? 'main' };
}

/** Stable per index: a restarted replica keeps its name, like a pod whose container restarts. */
export function replicaName(protonId: string, index: number): string {
  return `${protonId}-${index}`;
}
