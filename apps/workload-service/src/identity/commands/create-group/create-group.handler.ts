import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { evolveUser, initialUser, requireAdmin } from '../../domain/identity.decider';
import type { IdentityEvent } from '../../domain/identity.events';
import { CreateGroupCommand } from './create-group.command';

@CommandHandler(CreateGroupCommand)
export class CreateGroupHandler implements ICommandHandler<CreateGroupCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  async execute(command: CreateGroupCommand): Promise<CommandOutcome> {
    const refused = requireAdmin(command.actor);
    if (refused) return failure(refused);
    const { groupId, input } = command.body;
    const outcome = await this.repository.execute<typeof initialUser, IdentityEvent, null>({
      streamId: `group-${groupId}`,
      initial: initialUser,
      evolve: evolveUser,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => ({
        events: state.exists ? [] : [{ type: 'group.created', schemaVersion: 1, data: { groupId, name: input.name, createdAt: command.now } }],
        result: null,
      }),
    });
    return outcome.ok ? success({ id: groupId, name: input.name }) : failure(outcome.error);
  }
}
