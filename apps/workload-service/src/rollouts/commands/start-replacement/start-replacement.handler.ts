import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome, domainError, ParsedRuntime } from '@wcp/contracts';
import { decideAttach, decideDetach, evolveArtifact, initialArtifactState, requireArtifact } from '../../../artifacts/domain/artifact.decider';
import { CONFIG, WorkloadServiceConfig } from '../../../config';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure } from '../../../messaging/envelope.command';
import { resolveRuntime } from '../../../workloads/domain/runtime-settings.resolver';
import { evolveWorkload, initialWorkloadState, requireAccess } from '../../../workloads/domain/workload.decider';
import { ReplacementStarter } from '../../replacement.starter';
import { StartReplacementCommand } from './start-replacement.command';

/**
 * `POST /replacement`: a new artifact, by a strategy. Draft replaces draft and locked replaces
 * locked (400 otherwise); the same locked artifact is no change (422). The candidate artifact
 * is bound first (a draft backs one workload), and released again if the workload refuses.
 */
@CommandHandler(StartReplacementCommand)
export class StartReplacementHandler implements ICommandHandler<StartReplacementCommand, CommandOutcome> {
  constructor(
    private readonly repository: AggregateRepository,
    private readonly starter: ReplacementStarter,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
  ) {}

  async execute(command: StartReplacementCommand): Promise<CommandOutcome> {
    const { workloadId, replacementId, candidateProtonId, input } = command.body;
    const { commandId } = command.envelope;
    const actor = command.actor;
    const before = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
    const w = requireAccess(before, actor, 'CAN_UPDATE', workloadId);
    if ('code' in w) return failure(w);
    const candidate = requireArtifact(await this.repository.load(`artifact-${input.artifactId}`, initialArtifactState, evolveArtifact), actor, input.artifactId);
    if ('code' in candidate) return failure(candidate);
    const current = await this.repository.load(`artifact-${w.artifactId}`, initialArtifactState, evolveArtifact);
    const currentStatus = current.kind === 'present' ? current.status : 'draft';
    if (candidate.status !== currentStatus) {
      return failure(domainError('bad_request', 'ARTIFACT_STATUS_MISMATCH', `A ${currentStatus} artifact can only be replaced by a ${currentStatus} one; artifact ${input.artifactId} is ${candidate.status}.`));
    }
    if (input.artifactId === w.artifactId && candidate.status === 'locked' && w.replacement?.id !== replacementId) {
      return failure(domainError('validation', 'SAME_ARTIFACT', `The workload already runs locked artifact ${input.artifactId}.`, ['body', 'artifactId']));
    }
    // Without a runtime the workload's own carries over, as far as the new artifact's groups allow.
    const runtime = resolveRuntime(input.runtime ?? (w.runtime as unknown as ParsedRuntime), candidate.spec, this.config.RESOURCE_BUNDLES);
    if ('code' in runtime) return failure(runtime);
    const bound = await this.repository.execute({
      streamId: `artifact-${input.artifactId}`,
      initial: initialArtifactState,
      evolve: evolveArtifact,
      commitId: `${commandId}:attach`,
      actor,
      now: command.now,
      decide: (state) => {
        const events = decideAttach(state, actor, input.artifactId, workloadId);
        return 'code' in events ? events : { events, result: null };
      },
    });
    if (!bound.ok) return failure(bound.error);
    const started = await this.starter.start(
      {
        commandId,
        actor,
        now: command.now,
        workloadId,
        replacementId,
        candidateProtonId,
        origin: 'artifact',
        strategy: input.strategy,
        config: input.config,
        candidateArtifactId: input.artifactId,
        runtime,
      },
      before,
    );
    if (!started.ok && input.artifactId !== w.artifactId) {
      // Refused after the bind (another replacement won the race): give the artifact back.
      await this.repository.execute({
        streamId: `artifact-${input.artifactId}`,
        initial: initialArtifactState,
        evolve: evolveArtifact,
        commitId: `${commandId}:attach-undo`,
        actor,
        now: command.now,
        decide: (state) => ({ events: decideDetach(state, workloadId), result: null }),
      });
    }
    return started;
  }
}
