import type { Connection } from 'mongoose';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** Whether this instance may publish the outbox now. */
export interface OutboxLease {
  held(): Promise<boolean>;
}

export const OUTBOX_LEASE = Symbol('OUTBOX_LEASE');

/** One process owns its embedded store: it always holds the lease. */
export const soleOwner: OutboxLease = { held: async () => true };

/**
 * The outbox lease among instances sharing one MongoDB: time is cut in epochs of `leaseMs`, and
 * the instance that inserts `outbox|<epoch>` first publishes during it (an insert with a unique
 * `_id` is the one write every MongoDB-wire server makes atomic). The holder claims the next
 * epoch a little early, so it usually keeps the lease; if it dies, another instance takes over
 * at the next epoch, within `leaseMs`. Two relays may overlap for a moment around a handover
 * (clock skew): publication is at least once, and consumers dedupe by event id.
 */
export class MongoOutboxLease implements OutboxLease {
  readonly owner = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly mine = new Set<number>();

  constructor(private readonly connection: Connection, private readonly leaseMs: number) {}

  async held(now = Date.now()): Promise<boolean> {
    const epoch = Math.floor(now / this.leaseMs);
    const intoNext = now - epoch * this.leaseMs > this.leaseMs * 0.7;
    if (this.mine.has(epoch) && intoNext && !this.mine.has(epoch + 1)) await this.claim(epoch + 1);
    if (!this.mine.has(epoch)) await this.claim(epoch);
    return this.mine.has(epoch);
  }

  private async claim(epoch: number): Promise<void> {
    const leases = this.connection.db!.collection<{ _id: string; owner: string; at: number }>('leases');
    try {
      await leases.insertOne({ _id: `outbox|${epoch}`, owner: this.owner, at: Date.now() });
      this.mine.add(epoch);
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      const doc = await leases.findOne({ _id: `outbox|${epoch}` });
      if (doc?.owner === this.owner) this.mine.add(epoch);
      else return;
    }
    // Old epochs are history: keep the collection small (deletes by _id are cheap everywhere).
    for (const old of [...this.mine]) if (old < epoch - 1) this.mine.delete(old);
    await leases.deleteOne({ _id: `outbox|${epoch - 20}` }).catch(() => undefined);
  }
}
