import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome, domainError } from '@wcp/contracts';
import { decidePatchArtifact, evolveArtifact, initialArtifactState } from '../../../artifacts/domain/artifact.decider';
import { reserveArtifactVersion } from '../../../artifacts/artifact-version.reserver';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { decidePromote, evolveWorkload, initialWorkloadState } from '../../../workloads/domain/workload.decider';
import { WORKLOADS, WorkloadDoc } from '../../../workloads/projections/workload.projection';
import { renderWorkload } from '../../../workloads/queries/workload.renderer';
import { PromoteArtifactCommand } from './promote-artifact.command';

/**
 * `POST /promote`: the running draft artifact is locked with the next version of its name,
 * and statistics start afresh. Three streams, no transaction: everything that can refuse is
 * decided first; each append is idempotent by commit id, so a redelivery completes the rest.
 */
@CommandHandler(PromoteArtifactCommand)
export class PromoteArtifactHandler implements ICommandHandler<PromoteArtifactCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore) {}

  async execute(command: PromoteArtifactCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const { commandId } = command.envelope;
    const { actor, now } = command;
    const workload = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
    const artifactId = workload.kind === 'active' ? workload.artifactId : '';
    const artifact = workload.kind === 'active' ? await this.repository.load(`artifact-${artifactId}`, initialArtifactState, evolveArtifact) : initialArtifactState;
    // A redelivery whose workload commit exists already: only the answer is left to give.
    const done = await this.repository.isCommitted(commandId, `workload-${workloadId}`);
    if (!done) {
      const refusal = decidePromote(workload, actor, workloadId, artifact.kind === 'present' ? artifact : null, () => 0);
      if ('code' in refusal) return failure(refusal);
    }
    let version = artifact.kind === 'present' ? (artifact.artifactVersion ?? 0) : 0;
    if (!done && artifact.kind === 'present') {
      const reserved = await reserveArtifactVersion(this.repository, { name: artifact.name, artifactId, commitId: `${commandId}:version`, actor, now });
      if (typeof reserved !== 'number') return failure(reserved);
      version = reserved;
      const locked = await this.repository.execute({
        streamId: `artifact-${artifactId}`,
        initial: initialArtifactState,
        evolve: evolveArtifact,
        commitId: `${commandId}:lock`,
        actor,
        now,
        decide: (state) => eventsOnly(decidePatchArtifact(state, actor, artifactId, { status: 'locked' }, () => version)),
      });
      if (!locked.ok) return failure(locked.error);
    }
    const promoted = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: commandId,
      actor,
      now,
      // The artifact is locked by now; the workload records the promotion it decided above.
      decide: (state) => decidePromote(state, actor, workloadId, { status: 'draft' }, () => version),
    });
    if (!promoted.ok) return failure(promoted.error);
    const resetAt = promoted.commit?.events.find((e) => e.type === 'workload.stats-reset')?.occurredAt ?? now;
    const doc = await this.readModels.get<WorkloadDoc>(WORKLOADS, workloadId);
    if (!doc) return failure(domainError('not_found', 'WORKLOAD_NOT_FOUND', `Workload ${workloadId} was not found.`));
    return success({ workload: renderWorkload(doc, actor), resetAt });
  }
}
