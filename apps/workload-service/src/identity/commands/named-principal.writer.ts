import { Actor, CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../event-store/aggregate.repository';
import { failure, success } from '../../messaging/envelope.command';
import { evolveUser, initialUser, requireAdmin } from '../domain/identity.decider';
import type { IdentityEvent } from '../domain/identity.events';

/** Groups and organizations are the same thing to write: a named principal in its own stream. Admins only. */
export async function createNamedPrincipal(
  repository: AggregateRepository,
  kind: 'group' | 'org',
  id: string,
  name: string,
  command: { commitId: string; actor: Actor; now: string },
): Promise<CommandOutcome> {
  const refused = requireAdmin(command.actor);
  if (refused) return failure(refused);
  const created: IdentityEvent =
    kind === 'group'
      ? { type: 'group.created', schemaVersion: 1, data: { groupId: id, name, createdAt: command.now } }
      : { type: 'org.created', schemaVersion: 1, data: { orgId: id, name, createdAt: command.now } };
  const outcome = await repository.execute<typeof initialUser, IdentityEvent, null>({
    streamId: `${kind}-${id}`,
    initial: initialUser,
    evolve: evolveUser,
    commitId: command.commitId,
    actor: command.actor,
    now: command.now,
    decide: (state) => ({ events: state.exists ? [] : [created], result: null }),
  });
  return outcome.ok ? success({ id, name }) : failure(outcome.error);
}
