import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { PrincipalDirectory } from '../../../identity/principal.directory';
import { failure, success } from '../../../messaging/envelope.command';
import { decideShareRoles } from '../../domain/sharing.decider';
import { evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { UpdateSharedRolesCommand } from './update-shared-roles.command';

/**
 * `PATCH sharedRoles`: look every recipient up (an unknown one is a 404 naming it), then decide
 * against the workload's own stream, so a share and a command of the recipient are ordered:
 * once the share is gone, no later command of theirs gets through, whatever a cache said.
 */
@CommandHandler(UpdateSharedRolesCommand)
export class UpdateSharedRolesHandler implements ICommandHandler<UpdateSharedRolesCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, private readonly directory: PrincipalDirectory) {}

  async execute(command: UpdateSharedRolesCommand): Promise<CommandOutcome> {
    const { workloadId, input } = command.body;
    const recipients = await this.directory.resolve(input.roles);
    const outcome = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => decideShareRoles(state, command.actor, workloadId, recipients),
    });
    return outcome.ok ? success(outcome.result) : failure(outcome.error);
  }
}
