import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { createNamedPrincipal } from '../named-principal.writer';
import { CreateGroupCommand } from './create-group.command';

@CommandHandler(CreateGroupCommand)
export class CreateGroupHandler implements ICommandHandler<CreateGroupCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  execute(command: CreateGroupCommand): Promise<CommandOutcome> {
    return createNamedPrincipal(this.repository, 'group', command.body.groupId, command.body.input.name, { commitId: command.envelope.commandId, actor: command.actor, now: command.now });
  }
}
