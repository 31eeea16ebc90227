import { Inject, Injectable } from '@nestjs/common';
import {
  Actor,
  CommandOutcome,
  domainError,
  type DomainError,
  ReplacementConfig,
  type ReplacementConfigSettings,
  type ReplacementStrategy,
  type RuntimeSettings,
  type StartReplacementBody,
} from '@wcp/contracts';
import { decideDetach, evolveArtifact, initialArtifactState } from '../artifacts/domain/artifact.decider';
import { CONFIG, WorkloadServiceConfig } from '../config';
import { AggregateRepository, eventsOnly } from '../event-store/aggregate.repository';
import { failure, success } from '../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { RUNTIME_DRIVER, RuntimeDriver } from '../runtime';
import { initialReplicasOf, replicasOf } from '../workloads/domain/proton-spec';
import { decideStartReplacement, evolveWorkload, initialWorkloadState, ReplacementPlan, requireAccess, WorkloadState } from '../workloads/domain/workload.decider';
import { evolveReplacement, initialReplacementState, replacementNotFound, ReplacementState } from './domain/replacement.decider';
import type { ReplacementEvent } from './domain/replacement.events';
import { REPLACEMENTS, ReplacementDoc, renderReplacement } from './projections/replacement.projection';
import { startedEvent } from './sagas/replacement.saga';

export interface ReplacementRequest {
  commandId: string;
  actor: Actor;
  now: string;
  workloadId: string;
  replacementId: string;
  candidateProtonId: string;
  origin: 'settings' | 'artifact';
  strategy: ReplacementStrategy;
  config: StartReplacementBody['config'];
  candidateArtifactId: string;
  runtime: RuntimeSettings;
}

/** Defaults filled, nulls explicit: the config as stored and returned. */
export function normalizeConfig(input: StartReplacementBody['config']): ReplacementConfigSettings {
  const c = input ?? ReplacementConfig.parse({});
  return {
    warmupDurationMinutes: c.warmupDurationMinutes,
    keepOldVersionMinutes: c.keepOldVersionMinutes,
    maxSurge: c.maxSurge,
    canarySteps: c.canarySteps ?? null,
    analysis: c.analysis
      ? { maxErrorRate: c.analysis.maxErrorRate ?? null, maxP99Ms: c.analysis.maxP99Ms ?? null, minRequests: c.analysis.minRequests, intervalSeconds: c.analysis.intervalSeconds }
      : null,
  };
}

/**
 * Starts a replacement for a settings PATCH or a new artifact: takes the workload's lock (one
 * replacement at a time, decided on the workload stream), then writes the replacement's own
 * stream. A crash between the two is repaired by the saga from the plan on the workload stream.
 */
@Injectable()
export class ReplacementStarter {
  constructor(
    private readonly repository: AggregateRepository,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    @Inject(RUNTIME_DRIVER) private readonly driver: RuntimeDriver,
  ) {}

  async start(request: ReplacementRequest, before: WorkloadState): Promise<CommandOutcome> {
    const { workloadId, replacementId, now } = request;
    // An autoscaled proton runs its scaled count: the rollout keeps that capacity on both sides.
    const previousReplicas = before.kind === 'active' ? ((before.protonId !== null ? before.scaled[before.protonId] : undefined) ?? replicasOf(before.runtime)) : 0;
    const plan: ReplacementPlan = {
      replacementId,
      origin: request.origin,
      strategy: request.strategy,
      config: normalizeConfig(request.config),
      candidateArtifactId: request.candidateArtifactId,
      candidateProtonId: request.candidateProtonId,
      previousProtonId: before.kind === 'active' ? before.protonId : null,
      runtime: request.runtime,
      targetReplicas: initialReplicasOf(request.runtime, previousReplicas),
      previousReplicas,
      readyDeadline: new Date(Date.parse(now) + this.config.REPLACEMENT_READY_TIMEOUT_MS).toISOString(),
    };
    const locked = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: request.commandId,
      actor: request.actor,
      now,
      decide: (state) => decideStartReplacement(state, request.actor, workloadId, plan),
    });
    if (!locked.ok) return failure(locked.error);
    const immediate = (locked.commit?.events ?? []).some((e) => e.type === 'workload.replacement-finished');
    const events: ReplacementEvent[] = [startedEvent(workloadId, plan, request.actor.id)];
    if (immediate) events.push({ type: 'replacement.status-changed', schemaVersion: 1, data: { from: 'submitted', to: 'completed', message: 'The workload is not running: the new settings apply at its next start.', dueAt: null } });
    const written = await this.repository.execute({
      streamId: `replacement-${replacementId}`,
      initial: initialReplacementState,
      evolve: evolveReplacement,
      commitId: `${replacementId}:start`,
      actor: request.actor,
      now,
      decide: (state) => ({ events: state.kind === 'absent' ? events : [], result: null }),
    });
    if (!written.ok) return failure(written.error);
    // A stopped workload switched artifacts at once: the one it no longer uses is released now.
    if (immediate && before.kind === 'active' && before.artifactId !== request.candidateArtifactId) {
      await this.repository.execute({
        streamId: `artifact-${before.artifactId}`,
        initial: initialArtifactState,
        evolve: evolveArtifact,
        commitId: `${replacementId}:release`,
        actor: request.actor,
        now,
        decide: (state) => ({ events: decideDetach(state, workloadId), result: null }),
      });
    }
    return this.render(replacementId);
  }

  /**
   * A command on the replacement holding the workload (cancel, resume): the caller needs the
   * update permission; without a replacement in progress, 404.
   */
  async onHeld(
    command: { envelope: { commandId: string }; actor: Actor; now: string },
    workloadId: string,
    decide: (state: ReplacementState) => ReplacementEvent[] | DomainError,
  ): Promise<CommandOutcome> {
    const w = requireAccess(await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload), command.actor, 'CAN_UPDATE', workloadId);
    if ('code' in w) return failure(w);
    if (!w.replacement) return failure(replacementNotFound());
    const id = w.replacement.id;
    const outcome = await this.repository.execute({
      streamId: `replacement-${id}`,
      initial: initialReplacementState,
      evolve: evolveReplacement,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => eventsOnly(decide(state)),
    });
    return outcome.ok ? this.render(id) : failure(outcome.error);
  }

  async render(replacementId: string): Promise<CommandOutcome> {
    const doc = await this.readModels.get<ReplacementDoc>(REPLACEMENTS, replacementId);
    if (!doc) return failure(domainError('not_found', 'REPLACEMENT_NOT_FOUND', 'There is no active replacement for this workload.'));
    const readiness = {
      candidate: this.driver.readyEndpoints(doc.state.candidateProtonId).length,
      previous: doc.state.previousProtonId ? this.driver.readyEndpoints(doc.state.previousProtonId).length : 0,
    };
    return success(renderReplacement(doc, readiness));
  }
}

