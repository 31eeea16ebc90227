import { Inject, Injectable } from '@nestjs/common';
import { DomainError, domainError, IdempotencyClaim } from '@wcp/contracts';
import { CommitPipeline } from '../event-store/commit.pipeline';
import { EVENT_STORE, EventStore } from '../event-store/event-store';

const MAX_RACES = 5;

/**
 * Binds an Idempotency-Key to the first request it came with, for every gateway at once: a
 * claim is an append to the key's own stream (`idempotency-key-<keyId>`) guarded by its
 * version, so of two requests racing for one key exactly one wins. A claim older than its TTL
 * is taken over by the next request; the command ids of the two differ (the gateway derives
 * them from key and fingerprint), so the new one is decided afresh.
 */
@Injectable()
export class IdempotencyKeyStore {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly pipeline: CommitPipeline) {}

  /** Null when the command may run (the key is its own, or free); else the 422 refusal. */
  async claim(claim: IdempotencyClaim, commandId: string, nowIso: string): Promise<DomainError | null> {
    const streamId = `idempotency-key-${claim.keyId}`;
    for (let attempt = 0; attempt < MAX_RACES; attempt++) {
      const events = await this.store.readStream(streamId, attempt === 0 ? 'cached' : 'fresh');
      const held = events.at(-1)?.data as { fingerprint: string; expiresAt: string } | undefined;
      if (held && held.expiresAt > nowIso) {
        if (held.fingerprint === claim.fingerprint) return null;
        return domainError('validation', 'IDEMPOTENCY_KEY_REUSED', `This Idempotency-Key was used for another request (method, path or body) until ${held.expiresAt}; send a new key for a new request.`, ['header', 'Idempotency-Key']);
      }
      const expiresAt = new Date(Date.parse(nowIso) + claim.ttlMs).toISOString();
      const outcome = await this.store.append({
        streamId,
        expectedVersion: events.length,
        events: [{ type: 'idempotency-key.claimed', schemaVersion: 1, data: { fingerprint: claim.fingerprint, commandId, expiresAt } }],
        commitId: `${commandId}:key`,
        actorId: null,
        occurredAt: nowIso,
      });
      // Through the pipeline like every append, so the commit is marked projected and published (nothing reads it but this).
      if (outcome.status === 'appended') await this.pipeline.afterAppend(outcome.commit);
      if (outcome.status !== 'conflict') return null;
    }
    return domainError('conflict', 'IDEMPOTENCY_KEY_CONTENDED', 'This Idempotency-Key is being claimed by concurrent requests; retry.');
  }
}
