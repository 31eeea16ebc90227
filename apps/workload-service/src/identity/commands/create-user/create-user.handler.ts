import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Actor, CommandOutcome, CreateUserBody } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideClaim, evolveClaim, evolveUser, initialClaim, initialUser, requireAdmin } from '../../domain/identity.decider';
import type { IdentityEvent } from '../../domain/identity.events';
import { PrincipalDirectory } from '../../principal.directory';
import { CreateUserCommand } from './create-user.command';

export interface NewUser {
  userId: string;
  tokenHash: string;
  input: CreateUserBody;
  isAdmin: boolean;
}

/** Creates a user: claim the username, then write the user. Admins only. */
@CommandHandler(CreateUserCommand)
export class CreateUserHandler implements ICommandHandler<CreateUserCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, private readonly directory: PrincipalDirectory) {}

  async execute(command: CreateUserCommand): Promise<CommandOutcome> {
    const refused = requireAdmin(command.actor);
    if (refused) return failure(refused);
    const { userId, tokenHash, input } = command.body;
    const missing = await this.directory.checkMemberships(input.orgId, input.groupIds);
    if (missing) return failure(missing);
    return this.create({ userId, tokenHash, input, isAdmin: false }, command.envelope.commandId, command.actor, command.now);
  }

  /** Also used at boot for the bootstrap admin, with a fixed commit id so it happens once. */
  async create(user: NewUser, commitId: string, actor: Actor | null, now: string): Promise<CommandOutcome> {
    const username = user.input.username;
    const claim = await this.repository.execute({
      streamId: `username-${username.toLowerCase()}`,
      initial: initialClaim,
      evolve: evolveClaim,
      commitId: `${commitId}:username`,
      actor,
      now,
      decide: (state) => eventsOnly(decideClaim(state, username, user.userId)),
    });
    if (!claim.ok) return failure(claim.error);
    const created = await this.repository.execute<typeof initialUser, IdentityEvent, null>({
      streamId: `user-${user.userId}`,
      initial: initialUser,
      evolve: evolveUser,
      commitId,
      actor,
      now,
      decide: (state) => ({
        events: state.exists
          ? []
          : [
              {
                type: 'user.created',
                schemaVersion: 1,
                data: {
                  userId: user.userId,
                  username,
                  fullName: user.input.fullName ?? null,
                  orgId: user.input.orgId ?? null,
                  groupIds: user.input.groupIds,
                  isAdmin: user.isAdmin,
                  tokenHash: user.tokenHash,
                  createdAt: now,
                },
              },
            ],
        result: null,
      }),
    });
    if (!created.ok) return failure(created.error);
    // `replayed`: the answer to a retried command, whose API token the gateway can no longer know.
    return success({ id: user.userId, username, replayed: created.duplicate });
  }
}
