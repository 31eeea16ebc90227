import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { decideDetach, evolveArtifact, initialArtifactState } from '../../../artifacts/domain/artifact.decider';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideDelete, evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { DeleteWorkloadCommand } from './delete-workload.command';

/**
 * Delete: the workload goes first, then its artifact is released. The release is idempotent by
 * commit id, so a redelivery after a crash in between finishes it.
 */
@CommandHandler(DeleteWorkloadCommand)
export class DeleteWorkloadHandler implements ICommandHandler<DeleteWorkloadCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  async execute(command: DeleteWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const { commandId, issuedAt: now } = command.envelope;
    const before = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
    const deleted = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: commandId,
      actor: command.actor,
      now,
      decide: (state) => decideDelete(state, command.actor, workloadId, []),
    });
    if (!deleted.ok) return failure(deleted.error);
    if (before.kind !== 'absent') {
      const released = await this.repository.execute({
        streamId: `artifact-${before.artifactId}`,
        initial: initialArtifactState,
        evolve: evolveArtifact,
        commitId: `${commandId}:detach`,
        actor: command.actor,
        now,
        decide: (state) => ({ events: decideDetach(state, workloadId), result: null }),
      });
      if (!released.ok) return failure(released.error);
    }
    return success({ leftovers: [] });
  }
}
