import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideUpdateUser, evolveUser, initialUser, requireAdmin } from '../../domain/identity.decider';
import { IdentityQueries } from '../../identity.queries';
import { PrincipalDirectory } from '../../principal.directory';
import { UpdateUserCommand } from './update-user.command';

/**
 * `PATCH /admin/users/{id}`: name, organization, groups. A membership change takes effect on
 * the user's next request once the gateway's token cache (AUTH_CACHE_MS) has let it go.
 */
@CommandHandler(UpdateUserCommand)
export class UpdateUserHandler implements ICommandHandler<UpdateUserCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, private readonly directory: PrincipalDirectory, private readonly identity: IdentityQueries) {}

  async execute(command: UpdateUserCommand): Promise<CommandOutcome> {
    const refused = requireAdmin(command.actor);
    if (refused) return failure(refused);
    const { userId, input } = command.body;
    const missing = await this.directory.checkMemberships(input.orgId, input.groupIds);
    if (missing) return failure(missing);
    const changes = Object.fromEntries(Object.entries({ fullName: input.fullName, orgId: input.orgId, groupIds: input.groupIds }).filter(([, v]) => v !== undefined));
    const outcome = await this.repository.execute({
      streamId: `user-${userId}`,
      initial: initialUser,
      evolve: evolveUser,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => decideUpdateUser(state, userId, changes),
    });
    if (!outcome.ok) return failure(outcome.error);
    const user = await this.identity.user(userId);
    return user ? success(user) : failure({ kind: 'not_found', code: 'USER_NOT_FOUND', message: `User ${userId} was not found.` });
  }
}
