import type { Actor, DomainError } from '@wcp/contracts';
import type { AggregateRepository } from '../event-store/aggregate.repository';
import type { ArtifactVersionEvent } from './domain/artifact.events';

/**
 * Reserves the next version number of an artifact name (for a lock). The counter stream's
 * optimistic concurrency makes numbers unique; a number reserved by a lock that then failed is
 * skipped, never reused. Idempotent by `commitId`: a redelivery gets the same number.
 */
export async function reserveArtifactVersion(
  repository: AggregateRepository,
  request: { name: string; artifactId: string; commitId: string; actor: Actor; now: string },
): Promise<number | DomainError> {
  const reserved = await repository.execute<{ version: number }, ArtifactVersionEvent, null>({
    streamId: `artifact-versions-${request.name.toLowerCase()}`,
    initial: { version: 0 },
    evolve: (s) => ({ version: s.version + 1 }),
    commitId: request.commitId,
    actor: request.actor,
    now: request.now,
    decide: () => ({ events: [{ type: 'artifact-version.assigned', schemaVersion: 1, data: { artifactId: request.artifactId } }], result: null }),
  });
  return reserved.ok ? reserved.commit!.events[0].version : reserved.error;
}
