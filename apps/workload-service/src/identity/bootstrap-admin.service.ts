import { Inject, Injectable, Logger } from '@nestjs/common';
import { newId } from '@wcp/contracts';
import { createHash } from 'node:crypto';
import { CONFIG, WorkloadServiceConfig } from '../config';
import { AggregateRepository } from '../event-store/aggregate.repository';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { CreateUserHandler } from './commands/create-user/create-user.handler';
import { evolveUser, initialUser } from './domain/identity.decider';
import type { IdentityEvent } from './domain/identity.events';
import { USERS, UserDoc } from './projections/identity.projection';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Makes `admin` exist and hold BOOTSTRAP_API_TOKEN: created once; if the variable changes, the
 * admin's token follows it (the old one stops working).
 */
@Injectable()
export class BootstrapAdminService {
  private readonly logger = new Logger('BootstrapAdmin');

  constructor(
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    private readonly repository: AggregateRepository,
    private readonly createUser: CreateUserHandler,
  ) {}

  async ensure(): Promise<void> {
    const token = this.config.BOOTSTRAP_API_TOKEN;
    if (!token) return;
    const tokenHash = hashToken(token);
    const now = new Date().toISOString();
    const [existing] = await this.readModels.find<UserDoc>(USERS, { usernameLower: 'admin' }, { limit: 1 });
    if (!existing) {
      const outcome = await this.createUser.create(
        { userId: newId(), tokenHash, input: { username: 'admin', fullName: 'Administrator', orgId: null, groupIds: [] }, isAdmin: true },
        'bootstrap-admin',
        null,
        now,
      );
      if (!outcome.ok) throw new Error(`bootstrap admin: ${outcome.error.message}`);
      this.logger.log('created the bootstrap admin user');
      return;
    }
    if (existing.tokenHash === tokenHash) return;
    await this.repository.execute<typeof initialUser, IdentityEvent, null>({
      streamId: `user-${existing._id}`,
      initial: initialUser,
      evolve: evolveUser,
      commitId: `bootstrap-admin-token-${tokenHash.slice(0, 32)}`,
      actor: null,
      now,
      decide: () => ({ events: [{ type: 'user.token-changed', schemaVersion: 1, data: { tokenHash } }], result: null }),
    });
    this.logger.log('rotated the bootstrap admin token');
  }
}
