import { Inject, Injectable, Logger } from '@nestjs/common';
import { ARTIFACTS, ArtifactDoc } from '../../artifacts/projections/artifact.projection';
import { decideDetach, evolveArtifact, initialArtifactState } from '../../artifacts/domain/artifact.decider';
import { CONFIG, WorkloadServiceConfig } from '../../config';
import { AggregateRepository } from '../../event-store/aggregate.repository';
import type { CommitListener } from '../../event-store/commit.pipeline';
import type { Commit } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { ProtonSpec, RUNTIME_DRIVER, RuntimeDriver, RuntimeEvent } from '../../runtime';
import { protonSpecOf } from '../../workloads/domain/proton-spec';
import { decideFinishReplacement, evolveWorkload, initialWorkloadState, ReplacementPlan, WorkloadState } from '../../workloads/domain/workload.decider';
import type { WorkloadEvent } from '../../workloads/domain/workload.events';
import { AnalysisClient, ANALYSIS_CLIENT } from '../analysis.client';
import {
  analysisWindow,
  decideProgress,
  desiredRuntime,
  evolveReplacement,
  initialReplacementState,
  isOver,
  nextWake,
  Observation,
  PresentReplacement,
  ReplacementState,
} from '../domain/replacement.decider';
import type { ReplacementEvent } from '../domain/replacement.events';
import { REPLACEMENTS, ReplacementDoc } from '../projections/replacement.projection';
import { countedStep } from '../../messaging/service.metrics';

/** Transitions decided in one pass before the saga waits for the runtime or the clock again. */
const MAX_STEPS_PER_PASS = 20;

/** The replacement stream's first event, from the plan the workload stream recorded. */
export function startedEvent(workloadId: string, plan: ReplacementPlan, userId: string | null): ReplacementEvent {
  return { type: 'replacement.started', schemaVersion: 1, data: { ...plan, workloadId, userId } };
}

/**
 * The ReplacementSaga: one persisted process manager per replacement. Its state is the
 * replacement's stream; it never keeps work in memory that a restart would lose. Each pass
 * (after a commit, a runtime report or a stored due time) folds the stream, observes the
 * runtime, asks `decideProgress` for the next transitions, appends them under a commit id
 * derived from the stream version (so a pass repeated after a crash appends nothing twice),
 * and makes the runtime match `desiredRuntime` — level-triggered, so a crash between an
 * append and a runtime call is repaired by the next pass. Due times (warm-up, pause, keep-old,
 * drain, analysis) live in the stream; the timers here are only reminders rebuilt at boot.
 */
@Injectable()
export class ReplacementSaga implements CommitListener {
  private readonly logger = new Logger('ReplacementSaga');
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Proton id → replacement id, for runtime reports. */
  private readonly byProton = new Map<string, string>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(
    @Inject(RUNTIME_DRIVER) private readonly driver: RuntimeDriver,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    @Inject(ANALYSIS_CLIENT) private readonly analysis: AnalysisClient,
    private readonly repository: AggregateRepository,
  ) {}

  /** Before the runtime recovers at boot: the protons replacements in progress want, at their counts. */
  async desiredProtons(): Promise<ProtonSpec[]> {
    const specs: ProtonSpec[] = [];
    for (const doc of await this.open()) {
      const s = doc.state;
      const desired = desiredRuntime(s, 0, new Date().toISOString());
      const candidate = typeof desired.candidate === 'number' ? await this.spec(s, s.candidateProtonId, s.candidateArtifactId, desired.candidate) : null;
      if (candidate) specs.push(candidate);
      if (s.previousProtonId && desired.previous !== 'untouched') {
        const workload = await this.repository.load(`workload-${s.workloadId}`, initialWorkloadState, evolveWorkload);
        if (workload.kind === 'active') {
          const previous = await this.spec(s, s.previousProtonId, workload.artifactId, desired.previous === 'stopped' ? 0 : desired.previous, workload.runtime);
          if (previous) specs.push(previous);
        }
      }
    }
    return specs;
  }

  /** After the runtime recovered: resume every replacement in progress. */
  async start(): Promise<void> {
    this.unsubscribe = this.driver.onEvent((e) => this.onRuntimeEvent(e));
    const open = await this.open();
    for (const doc of open) this.enqueue(doc.state.workloadId, doc._id);
    // Workloads whose lock was taken but whose replacement stream was never written (a crash in between).
    const held = await this.readModels.find<{ _id: string; replacement: { id: string } | null }>('workloads', { 'replacement.status': 'submitted' });
    for (const w of held) if (w.replacement && !open.some((d) => d._id === w.replacement!.id)) this.enqueue(w._id, w.replacement.id);
    if (open.length > 0) this.logger.log(`resuming ${open.length} replacement(s)`);
  }

  committed(commit: Commit): void {
    if (this.stopped) return;
    if (commit.streamId.startsWith('replacement-')) {
      const first = commit.events[0] as unknown as ReplacementEvent;
      const workloadId = first.type === 'replacement.started' ? first.data.workloadId : null;
      const id = commit.streamId.slice('replacement-'.length);
      if (workloadId) this.enqueue(workloadId, id);
      else void this.workloadOf(id).then((w) => w && this.enqueue(w, id));
      return;
    }
    if (!commit.streamId.startsWith('workload-')) return;
    const workloadId = commit.streamId.slice('workload-'.length);
    for (const stored of commit.events) {
      const event = stored as unknown as WorkloadEvent;
      if (event.type === 'workload.replacement-started') this.enqueue(workloadId, event.data.replacementId);
      // The autoscaler scaled a candidate: the next pass runs it at that count.
      if (event.type === 'workload.proton-scaled') {
        const id = this.byProton.get(event.data.protonId);
        if (id) this.enqueue(workloadId, id);
      }
      // A stop or a delete ends the replacement too.
      if (event.type === 'workload.stop-requested' || event.type === 'workload.deleted') {
        void this.readModels.find<ReplacementDoc>(REPLACEMENTS, { $and: [{ workloadId }, { open: true }] }).then((docs) => docs.forEach((d) => this.enqueue(workloadId, d._id)));
      }
    }
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.chains.values()]);
  }

  private onRuntimeEvent(event: RuntimeEvent): void {
    if (this.stopped) return;
    const id = this.byProton.get(event.protonId);
    if (!id) return;
    if (event.type === 'ReplicaReady' || event.type === 'ReplicaNotReady' || event.type === 'ProtonErrored' || event.type === 'ProtonStopped' || event.type === 'ProtonRunning') {
      this.enqueue(event.workloadId, id);
    }
  }

  /** One pass over one replacement. */
  private async advance(workloadId: string, id: string): Promise<void> {
    let s = await this.load(id);
    if (s.kind === 'absent') s = await this.createFromPlan(workloadId, id);
    if (s.kind !== 'present') return;
    this.byProton.set(s.candidateProtonId, id);
    if (s.previousProtonId) this.byProton.set(s.previousProtonId, id);
    const options = { drainMs: this.config.REPLACEMENT_DRAIN_MS, readyTimeoutMs: this.config.REPLACEMENT_READY_TIMEOUT_MS };
    for (let step = 0; step < MAX_STEPS_PER_PASS; step++) {
      const now = new Date().toISOString();
      const workload = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
      const observation = await this.observe(s, workload, now);
      let events = decideProgress(s, observation, now, options);
      if (s.phase === 'rollout' && !isOver(s) && (workload.kind !== 'active' || workload.status === 'stopping' || workload.status === 'stopped')) {
        events = [{ type: 'replacement.rollback-started', schemaVersion: 1, data: { outcome: 'canceled', message: 'The workload was stopped or deleted.' } }];
      }
      if (events.length > 0) {
        const appended = await this.repository.execute({
          streamId: `replacement-${id}`,
          initial: initialReplacementState,
          evolve: evolveReplacement,
          commitId: `${id}:${s.version}`,
          actor: null,
          now,
          decide: (current) => (current.version === s.version ? { events, result: null } : { events: [], result: null }),
        });
        if (!appended.ok) this.logger.warn(`replacement ${id}: ${appended.error.message}`);
        for (const e of events) if (e.type === 'replacement.rollback-started' || (e.type === 'replacement.status-changed' && e.data.to !== e.data.from)) this.logTransition(s, e);
        s = await this.load(id);
        if (s.kind !== 'present') return;
      }
      await this.reconcileRuntime(s, workload, observation.previousReady);
      if (isOver(s)) {
        await this.finish(s);
        return;
      }
      if (events.length === 0) break;
    }
    this.schedule(workloadId, s);
  }

  private async observe(s: PresentReplacement, workload: WorkloadState, now: string): Promise<Observation> {
    const candidate = this.driver.snapshot(s.candidateProtonId);
    const previous = s.previousProtonId ? this.driver.snapshot(s.previousProtonId) : null;
    const observation: Observation = {
      candidateReady: this.driver.readyEndpoints(s.candidateProtonId).length,
      candidateErrored: candidate?.overallStatus.state === 'errored' ? candidate.overallStatus.summary : null,
      candidateStopped: !candidate || candidate.overallStatus.state === 'stopped',
      previousReady: s.previousProtonId ? this.driver.readyEndpoints(s.previousProtonId).length : 0,
      previousStopped: !previous || previous.overallStatus.state === 'stopped',
      analysis: null,
    };
    const window = analysisWindow(s, now);
    if (window && workload.kind === 'active') {
      try {
        observation.analysis = await this.analysis.sample(s.workloadId, s.candidateProtonId, s.previousProtonId, window);
      } catch (error) {
        // No sample is no verdict: the step waits and asks again at the next interval.
        this.logger.warn(`replacement ${s.id}: analysis unavailable: ${error instanceof Error ? error.message : error}`);
      }
    }
    return observation;
  }

  /** Makes the runtime run what the replacement wants now; every call is idempotent. */
  private async reconcileRuntime(s: PresentReplacement, workload: WorkloadState, previousReady: number): Promise<void> {
    const desired = desiredRuntime(s, previousReady, new Date().toISOString());
    const workloadGone = workload.kind !== 'active' || workload.status === 'stopping' || workload.status === 'stopped';
    if (desired.candidate === 'stopped' || (workloadGone && desired.candidate !== 'untouched')) {
      await this.driver.stop(s.candidateProtonId, { graceMs: this.config.STOP_GRACE_MS });
    } else if (typeof desired.candidate === 'number') {
      // The autoscaler may grow the candidate beyond the rollout's count, never shrink it below.
      const scaled = workload.kind === 'active' ? (workload.scaled[s.candidateProtonId] ?? 0) : 0;
      const spec = await this.spec(s, s.candidateProtonId, s.candidateArtifactId, Math.max(desired.candidate, scaled));
      if (spec) await this.driver.ensureRunning(spec);
    }
    // The previous proton is the workload's until the replacement is over; a stop of the workload is the lifecycle saga's.
    if (!s.previousProtonId || workloadGone || desired.previous === 'untouched') return;
    if (desired.previous === 'stopped') {
      await this.driver.stop(s.previousProtonId, { graceMs: this.config.STOP_GRACE_MS });
    } else if (workload.kind === 'active') {
      const spec = await this.spec(s, s.previousProtonId, workload.artifactId, desired.previous, workload.runtime);
      if (spec) await this.driver.ensureRunning(spec);
    }
  }

  /** The workload's side: release the lock (and switch proton, artifact, runtime on completion), then the artifact bindings. */
  private async finish(s: PresentReplacement): Promise<void> {
    const outcome = s.status === 'completed' ? 'completed' : (s.rollbackOutcome ?? 'errored');
    const plan = planOf(s);
    const before = await this.repository.load(`workload-${s.workloadId}`, initialWorkloadState, evolveWorkload);
    const finished = await this.repository.execute({
      streamId: `workload-${s.workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: `${s.id}:finish`,
      actor: null,
      now: new Date().toISOString(),
      decide: (state) => ({ events: decideFinishReplacement(state, plan, outcome, s.message), result: null }),
    });
    if (!finished.ok) {
      this.logger.warn(`replacement ${s.id}: could not release workload ${s.workloadId}: ${finished.error.message}`);
      return;
    }
    // A new artifact binds the workload from the start; the one that no longer backs it is released.
    const previousArtifact = before.kind === 'active' ? before.artifactId : null;
    if (previousArtifact && previousArtifact !== s.candidateArtifactId) {
      const release = outcome === 'completed' ? previousArtifact : s.candidateArtifactId;
      await this.repository.execute({
        streamId: `artifact-${release}`,
        initial: initialArtifactState,
        evolve: evolveArtifact,
        commitId: `${s.id}:release`,
        actor: null,
        now: new Date().toISOString(),
        decide: (state) => ({ events: decideDetach(state, s.workloadId), result: null }),
      });
    }
    this.byProton.delete(s.candidateProtonId);
    if (s.previousProtonId) this.byProton.delete(s.previousProtonId);
    this.logger.log(`replacement ${s.id} of workload ${s.workloadId}: ${outcome}${s.message ? ` (${s.message})` : ''}`);
  }

  /** The replacement stream written from the workload's plan, after a crash between the two appends. */
  private async createFromPlan(workloadId: string, id: string): Promise<ReplacementState> {
    const events = await this.repository.load<{ version: number; plan: ReplacementPlan | null; userId: string | null }, WorkloadEvent & { actorId?: string | null }>(
      `workload-${workloadId}`,
      { version: 0, plan: null, userId: null },
      (acc, e) => (e.type === 'workload.replacement-started' && e.data.replacementId === id ? { version: acc.version + 1, plan: e.data, userId: e.actorId ?? null } : { ...acc, version: acc.version + 1 }),
    );
    if (!events.plan) return initialReplacementState;
    await this.repository.execute({
      streamId: `replacement-${id}`,
      initial: initialReplacementState,
      evolve: evolveReplacement,
      commitId: `${id}:start`,
      actor: null,
      now: new Date().toISOString(),
      decide: (state) => ({ events: state.kind === 'absent' ? [startedEvent(workloadId, events.plan!, events.userId)] : [], result: null }),
    });
    return this.load(id);
  }

  private async spec(s: PresentReplacement, protonId: string, artifactId: string, replicas: number, runtime = s.runtime): Promise<ProtonSpec | null> {
    const artifact = await this.readModels.get<ArtifactDoc>(ARTIFACTS, artifactId);
    return protonSpecOf(artifact, runtime, { protonId, workloadId: s.workloadId }, replicas);
  }

  private load(id: string): Promise<ReplacementState> {
    return this.repository.load(`replacement-${id}`, initialReplacementState, evolveReplacement);
  }

  private async open(): Promise<ReplacementDoc[]> {
    return this.readModels.find<ReplacementDoc>(REPLACEMENTS, { open: true });
  }

  private async workloadOf(id: string): Promise<string | null> {
    return (await this.readModels.get<ReplacementDoc>(REPLACEMENTS, id))?.workloadId ?? null;
  }

  private schedule(workloadId: string, s: PresentReplacement): void {
    const wake = nextWake(s);
    const existing = this.timers.get(s.id);
    if (existing) clearTimeout(existing);
    this.timers.delete(s.id);
    if (!wake || this.stopped) return;
    // Capped so a clock jump or a long pause is re-examined at least every minute.
    const delay = Math.min(60_000, Math.max(50, Date.parse(wake) - Date.now() + 10));
    const timer = setTimeout(() => {
      this.timers.delete(s.id);
      this.enqueue(workloadId, s.id);
    }, delay);
    timer.unref();
    this.timers.set(s.id, timer);
  }

  private logTransition(s: PresentReplacement, e: ReplacementEvent): void {
    if (e.type === 'replacement.rollback-started') this.logger.warn(`replacement ${s.id}: rolling back (${e.data.outcome}): ${e.data.message}`);
    else if (e.type === 'replacement.status-changed') this.logger.log(`replacement ${s.id} (${s.strategy}): ${e.data.from} → ${e.data.to}${e.data.message ? `: ${e.data.message}` : ''}`);
  }

  /** Per-workload chains: one workload's replacement passes never interleave. */
  private enqueue(workloadId: string, id: string): void {
    if (this.stopped) return;
    const previous = this.chains.get(workloadId) ?? Promise.resolve();
    const next = previous
      .then(() => countedStep('replacement', 'advance', () => this.advance(workloadId, id)))
      .catch((error) => this.logger.error(`replacement ${id} of workload ${workloadId}: ${error instanceof Error ? error.stack : error}`))
      .finally(() => {
        if (this.chains.get(workloadId) === next) this.chains.delete(workloadId);
      });
    this.chains.set(workloadId, next);
  }
}

function planOf(s: PresentReplacement): ReplacementPlan {
  return {
    replacementId: s.id,
    origin: s.origin,
    strategy: s.strategy,
    config: s.config,
    candidateArtifactId: s.candidateArtifactId,
    candidateProtonId: s.candidateProtonId,
    previousProtonId: s.previousProtonId,
    runtime: s.runtime,
    targetReplicas: s.targetReplicas,
    previousReplicas: s.previousReplicas,
    readyDeadline: s.readyDeadline,
  };
}
