import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { createNamedPrincipal } from '../named-principal.writer';
import { CreateOrgCommand } from './create-org.command';

@CommandHandler(CreateOrgCommand)
export class CreateOrgHandler implements ICommandHandler<CreateOrgCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  execute(command: CreateOrgCommand): Promise<CommandOutcome> {
    return createNamedPrincipal(this.repository, 'org', command.body.orgId, command.body.input.name, { commitId: command.envelope.commandId, actor: command.actor, now: command.now });
  }
}
