import { Inject, Injectable, Logger } from '@nestjs/common';
import { newId, WorkloadStatus } from '@wcp/contracts';
import { ARTIFACTS, ArtifactDoc } from '../../artifacts/projections/artifact.projection';
import { CONFIG, WorkloadServiceConfig } from '../../config';
import { AggregateRepository } from '../../event-store/aggregate.repository';
import type { CommitListener } from '../../event-store/commit.pipeline';
import type { Commit } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { ProtonSpec, RUNTIME_DRIVER, RuntimeDriver, RuntimeEvent } from '../../runtime';
import { ACTIVE_STATUSES, decideRuntimeFact, decideStatus, evolveWorkload, initialWorkloadState } from '../domain/workload.decider';
import { autoscalingOf, protonSpecOf, replicasOf } from '../domain/proton-spec';
import { PROTONS, ProtonDoc } from '../projections/proton.projection';
import type { WorkloadEvent } from '../domain/workload.events';
import { WORKLOADS, WorkloadDoc } from '../projections/workload.projection';
import { countedStep } from '../../messaging/service.metrics';
import { RuntimePlacement } from '../../placement/runtime-placement';

/** Runtime reports kept while the instance does not know its partitions yet (boot): far more than a boot produces. */
const MAX_HELD_REPORTS = 10_000;

/**
 * The start/stop process manager. Its state is the workload stream itself: a workload whose
 * last word is "start requested" or a running status wants its proton running; "stop
 * requested" wants it stopped. After each commit it acts on what changed; at boot it reconciles
 * every workload with the runtime (adopting replicas that survived a crash, killing the rest),
 * so a start or stop interrupted by a crash completes, and no replica is started twice.
 * What the runtime reports goes back into the stream as status changes and history.
 * With several instances, each acts only for the workloads it owns (RuntimePlacement).
 */
@Injectable()
export class LifecycleSaga implements CommitListener {
  private readonly logger = new Logger('LifecycleSaga');
  /** Per-workload chains: one workload's runtime work and reports stay in order. */
  private readonly chains = new Map<string, Promise<void>>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private readonly held: RuntimeEvent[] = [];
  /** Scale-downs waiting for their replicas to drain; a restart applies the stored count at once. */
  private readonly drains = new Set<NodeJS.Timeout>();
  /** Workloads whose unfinished stop a rebalance pass has queued and that has not run yet. */
  private readonly resumingStops = new Set<string>();

  constructor(
    @Inject(RUNTIME_DRIVER) private readonly driver: RuntimeDriver,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    private readonly repository: AggregateRepository,
    private readonly placement: RuntimePlacement,
  ) {}

  /**
   * At boot, after projections caught up, before this instance knows its partitions: adopt the
   * replicas that survived its last run for every workload that should run, and complete the
   * protons it ran (a restarted instance usually owns them again, and joining the group can
   * take a session timeout: they keep serving, and a rollout's candidate keeps its deadline);
   * kill every other leftover; start nothing it did not run. `rollouts` are the protons
   * replacements in progress want (candidates, and previous protons at their rollout's replica
   * count); they win over the workload's own count.
   */
  async recover(rollouts: ProtonSpec[] = []): Promise<void> {
    this.unsubscribe = this.driver.onEvent((e) => this.onRuntimeEvent(e));
    const { desired } = await this.wanted(rollouts, () => true);
    await this.driver.recover(desired, { knownOnly: true });
  }

  /**
   * Once the partitions are known: release what this instance adopted but does not own, make
   * the owned workloads run (missing replicas start) and finish their stops.
   */
  async reconcile(rollouts: ProtonSpec[] = []): Promise<void> {
    this.releaseUnowned();
    const { desired, stopping } = await this.wanted(rollouts, (id) => this.placement.owns(id));
    // Awaited, as boot's recovery always was: the replacement saga resumes on a runtime that runs what it wants.
    for (const spec of desired) {
      await this.driver.ensureRunning(spec).catch((error) => this.logger.error(`workload ${spec.workloadId}: ${error instanceof Error ? error.message : error}`));
    }
    for (const w of stopping) this.enqueue(w._id, 'stop', () => this.stop(w._id, w.protonId!));
    const held = this.held.splice(0);
    for (const event of held) this.onRuntimeEvent(event);
    if (desired.length + stopping.length > 0) this.logger.log(`reconciled: ${desired.length} protons running, ${stopping.length} stopping`);
  }

  /**
   * After the instance's partitions changed, and periodically (level-triggered, so a race with
   * a rebalance is repaired at the next pass): release the protons of workloads another
   * instance owns now, without a word in their streams (their owner speaks for them), and
   * take over the owned ones this instance does not run — their last instance left or died.
   * A proton this driver saw error stays errored: its status says so, and a start retries it.
   */
  async rebalance(rollouts: ProtonSpec[] = []): Promise<void> {
    if (this.stopped) return;
    this.releaseUnowned();
    const { desired, stopping } = await this.wanted(rollouts, (id) => this.placement.owns(id));
    const running = new Set(this.driver.running().map((p) => p.protonId));
    let taken = 0;
    for (const spec of desired) {
      if (running.has(spec.protonId) || this.driver.snapshot(spec.protonId)?.overallStatus.state === 'errored') continue;
      taken += 1;
      this.enqueue(spec.workloadId, 'take-over', async () => {
        // Read again when its turn comes: a stop accepted since the pass read the workloads wins.
        const workload = await this.readModels.get<WorkloadDoc>(WORKLOADS, spec.workloadId);
        const active = !!workload && (ACTIVE_STATUSES as string[]).includes(workload.status);
        if (active && this.placement.owns(spec.workloadId)) await this.driver.ensureRunning(spec);
      });
    }
    // A stop its last instance did not finish (the driver answers for a proton it never ran: stopped).
    // Once per workload until it ran (a drain can outlast the pass period), and re-read when its turn comes.
    for (const w of stopping) {
      if (this.resumingStops.has(w._id)) continue;
      this.resumingStops.add(w._id);
      this.enqueue(w._id, 'stop', () => this.stopCurrent(w._id).finally(() => this.resumingStops.delete(w._id)));
    }
    if (taken > 0) this.logger.log(`took over ${taken} protons of workloads this instance owns now`);
  }

  /** Stops, without a word in their streams, the protons of workloads another instance owns. */
  private releaseUnowned(): void {
    for (const { protonId, workloadId } of this.driver.running()) {
      if (this.placement.owns(workloadId)) continue;
      this.enqueue(workloadId, 'release', async () => {
        if (!this.placement.owns(workloadId)) await this.driver.stop(protonId, { graceMs: this.config.STOP_GRACE_MS });
      });
    }
  }

  /** What should run of the workloads `mine` accepts: specs of the active ones (rollouts' protons winning), and the stopping ones. */
  private async wanted(rollouts: ProtonSpec[], mine: (workloadId: string) => boolean): Promise<{ desired: ProtonSpec[]; stopping: WorkloadDoc[] }> {
    const workloads = await this.readModels.find<WorkloadDoc>(WORKLOADS, { status: { $in: [...ACTIVE_STATUSES, 'stopping'] } });
    const byProton = new Map<string, ProtonSpec>();
    const stopping: WorkloadDoc[] = [];
    for (const w of workloads) {
      if (!w.protonId || !mine(w._id)) continue;
      if ((ACTIVE_STATUSES as string[]).includes(w.status)) {
        const spec = await this.specFor(w);
        if (spec) byProton.set(spec.protonId, spec);
      } else if (w.status === 'stopping') {
        stopping.push(w);
      }
    }
    for (const spec of rollouts) if (mine(spec.workloadId)) byProton.set(spec.protonId, spec);
    return { desired: [...byProton.values()], stopping };
  }

  /** Called by the commit pipeline after each append is projected. */
  committed(commit: Commit): void {
    if (this.stopped || !commit.streamId.startsWith('workload-')) return;
    const workloadId = commit.streamId.slice('workload-'.length);
    // Appended here while another instance took the workload over: its rebalance acts on it.
    if (!this.placement.owns(workloadId)) return;
    for (const stored of commit.events) {
      const event = stored as unknown as WorkloadEvent;
      if (event.type === 'workload.start-requested') this.enqueue(workloadId, 'start', () => this.start(workloadId, event.data.protonId));
      if (event.type === 'workload.stop-requested') this.enqueue(workloadId, 'stop', () => this.stopCurrent(workloadId));
      // The autoscaler's decision is stored; now the runtime follows (a replacement's candidate is the ReplacementSaga's).
      if (event.type === 'workload.proton-scaled') this.scaleLater(workloadId, event.data);
    }
  }

  /** Stops a proton now, for delete; true when it is gone. */
  async stopNow(protonId: string): Promise<boolean> {
    const result = await this.driver.stop(protonId, { graceMs: this.config.STOP_GRACE_MS });
    if (!result.stopped) this.logger.warn(`proton ${protonId} could not be stopped: ${result.detail ?? 'unknown reason'}`);
    return result.stopped;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.drains) clearTimeout(t);
    this.drains.clear();
    await Promise.allSettled([...this.chains.values()]);
    await this.driver.shutdown({ stopReplicas: this.config.STOP_REPLICAS_ON_SHUTDOWN, graceMs: this.config.STOP_GRACE_MS });
  }

  private async start(workloadId: string, protonId: string): Promise<void> {
    const workload = await this.readModels.get<WorkloadDoc>(WORKLOADS, workloadId);
    if (!workload || workload.protonId !== protonId || !(ACTIVE_STATUSES as string[]).includes(workload.status)) return;
    const spec = await this.specFor(workload);
    if (!spec) {
      await this.recordStatus(workloadId, protonId, 'errored', 'the artifact of this workload no longer exists');
      return;
    }
    await this.driver.ensureRunning(spec);
  }

  /**
   * A scale-up runs at once. A scale-down first takes the surplus replicas out of the route table
   * (the routes answer only indexes below the stored count, and every gateway drops its cached
   * routes on the event), and stops them REPLACEMENT_DRAIN_MS later, as a rollout retires
   * replicas: no request is sent to a replica that is going away.
   */
  private scaleLater(workloadId: string, scaled: { protonId: string; from: number; to: number }): void {
    const run = () => this.enqueue(workloadId, 'scale', () => this.scale(workloadId, scaled.protonId));
    if (scaled.to >= scaled.from) return run();
    const timer = setTimeout(() => {
      this.drains.delete(timer);
      if (!this.stopped) run();
    }, this.config.REPLACEMENT_DRAIN_MS);
    timer.unref();
    this.drains.add(timer);
  }

  /** Runs the active proton at its stored count; level-triggered, so a repeat or a stale call changes nothing. */
  private async scale(workloadId: string, protonId: string): Promise<void> {
    const workload = await this.readModels.get<WorkloadDoc>(WORKLOADS, workloadId);
    if (!workload || workload.protonId !== protonId || workload.status !== 'running') return;
    const spec = await this.specFor(workload);
    if (spec) await this.driver.ensureRunning(spec);
  }

  private async stopCurrent(workloadId: string): Promise<void> {
    const state = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
    if (state.kind !== 'active' || state.status !== 'stopping' || !state.protonId) return;
    await this.stop(workloadId, state.protonId);
  }

  private async stop(workloadId: string, protonId: string): Promise<void> {
    const stopped = await this.stopNow(protonId);
    if (stopped) await this.recordStatus(workloadId, protonId, 'stopped', null);
  }

  private onRuntimeEvent(event: RuntimeEvent): void {
    const { workloadId, protonId } = event;
    if (this.stopped) return;
    // Reports of adopted replicas before the partitions are known wait for `reconcile`.
    if (!this.placement.current()) {
      if (this.held.length < MAX_HELD_REPORTS) this.held.push(event);
      return;
    }
    // A proton released to another instance stops here; its stream is the new owner's to write.
    if (!this.placement.owns(workloadId)) return;
    if (event.type === 'ProtonStatusChanged') {
      // Stopping is the workload's own decision (stop requested); the runtime's echo adds nothing.
      if (event.status !== 'stopping') this.enqueue(workloadId, 'record-status', () => this.recordStatus(workloadId, protonId, event.status, event.reason ?? null));
    } else if (event.type === 'ReplicaRestarted') {
      this.enqueue(workloadId, 'record-fact', () =>
        this.recordFact(workloadId, {
          type: 'workload.replica-restarted',
          schemaVersion: 1,
          data: { protonId, replica: event.replica, restartCount: event.restartCount, reason: event.reason, exitCode: event.exitCode },
        }),
      );
    } else if (event.type === 'ProtonErrored') {
      this.enqueue(workloadId, 'record-fact', () => this.recordFact(workloadId, { type: 'workload.proton-errored', schemaVersion: 1, data: { protonId, reason: event.reason } }));
    }
  }

  private async recordStatus(workloadId: string, protonId: string, to: WorkloadStatus, reason: string | null): Promise<void> {
    const outcome = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: `runtime-${newId()}`,
      actor: null,
      now: new Date().toISOString(),
      decide: (state) => ({ events: decideStatus(state, to, protonId, reason), result: null }),
    });
    if (!outcome.ok) this.logger.warn(`status ${to} of ${workloadId}: ${outcome.error.message}`);
  }

  private async recordFact(workloadId: string, fact: Extract<WorkloadEvent, { type: 'workload.replica-restarted' | 'workload.proton-errored' }>): Promise<void> {
    await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: `runtime-${newId()}`,
      actor: null,
      now: new Date().toISOString(),
      decide: (state) => ({ events: decideRuntimeFact(state, fact), result: null }),
    });
  }

  /**
   * The proton spec of a workload's active proton, at the autoscaler's last count when it has
   * spoken (so a restart resumes there, not at the floor), else at the runtime's own count.
   */
  private async specFor(workload: WorkloadDoc): Promise<ProtonSpec | null> {
    if (!workload.protonId) return null;
    const artifact = await this.readModels.get<ArtifactDoc>(ARTIFACTS, workload.artifactId);
    const proton = await this.readModels.get<ProtonDoc>(PROTONS, workload.protonId);
    const scaled = autoscalingOf(workload.runtime) ? proton?.scale?.desired : undefined;
    return protonSpecOf(artifact, workload.runtime, { protonId: workload.protonId, workloadId: workload._id }, scaled ?? replicasOf(workload.runtime));
  }

  private enqueue(workloadId: string, step: string, work: () => Promise<void>): void {
    const previous = this.chains.get(workloadId) ?? Promise.resolve();
    const next = previous
      .then(() => countedStep('lifecycle', step, work))
      .catch((error) => this.logger.error(`workload ${workloadId}: ${error instanceof Error ? error.message : error}`))
      .finally(() => {
        if (this.chains.get(workloadId) === next) this.chains.delete(workloadId);
      });
    this.chains.set(workloadId, next);
  }
}
