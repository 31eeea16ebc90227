import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { decideDetach, evolveArtifact, initialArtifactState } from '../../../artifacts/domain/artifact.decider';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideDelete, evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { LifecycleSaga } from '../../sagas/lifecycle.saga';
import { DeleteWorkloadCommand } from './delete-workload.command';

/**
 * Delete: its protons (the active one, and a replacement's candidate) are stopped, the workload goes, then its artifact is released. The release is idempotent by
 * commit id, so a redelivery after a crash in between finishes it.
 */
@CommandHandler(DeleteWorkloadCommand)
export class DeleteWorkloadHandler implements ICommandHandler<DeleteWorkloadCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, private readonly lifecycle: LifecycleSaga) {}

  async execute(command: DeleteWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const { commandId } = command.envelope;
    const now = command.now;
    const before = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
    // Protons stop first (only for a delete that will be accepted); one that cannot be stopped is
    // reported, and the workload is deleted anyway.
    const leftovers: string[] = [];
    if (before.kind === 'active' && before.protonId && !('code' in decideDelete(before, command.actor, workloadId, []))) {
      // A replacement's candidate goes too; the replacement saga sees the delete and closes it.
      const protons = [before.protonId, ...(before.replacement ? [before.replacement.candidateProtonId] : [])];
      for (const protonId of protons) if (!(await this.lifecycle.stopNow(protonId))) leftovers.push(protonId);
    }
    const deleted = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: commandId,
      actor: command.actor,
      now,
      decide: (state) => decideDelete(state, command.actor, workloadId, leftovers),
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
    return success({ leftovers: deleted.duplicate ? ((deleted.commit?.events[0]?.data as { leftovers?: string[] })?.leftovers ?? []) : leftovers });
  }
}
