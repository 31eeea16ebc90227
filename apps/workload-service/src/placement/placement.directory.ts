import { Logger } from '@nestjs/common';
import { PartitionAssignment, partitionOf } from '@wcp/messaging';
import type { Doc, ReadModelStore } from '../read-models/read-model-store';
import type { RuntimePlacement } from './runtime-placement';

export const PLACEMENTS = 'placements';

/** One instance's claim: the command partitions it owns and where its internal API answers. */
interface PlacementDoc extends Doc {
  url: string;
  partitions: number[];
  partitionCount: number;
  /** When the claim was written (ms): of two claims on a partition the newer wins (the other instance died before withdrawing). */
  at: number;
}

/** Claims are re-read at most this often: a lookup per route-cache miss must stay cheap. */
const CACHE_MS = 1000;

/**
 * Where the runtime state of a workload this instance does not run can be asked: each
 * instance writes one document (by `_id`, the one lookup every MongoDB-wire server makes fast)
 * with its partitions and URL at every assignment, and deletes it at shutdown. The collection
 * holds one document per instance, so reading it whole is cheap.
 */
export class PlacementDirectory {
  private readonly logger = new Logger('PlacementDirectory');
  private url: string | null = null;
  private cached: { at: number; docs: Promise<PlacementDoc[]> } | null = null;
  private unsubscribe: (() => void) | null = null;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ReadModelStore,
    private readonly placement: RuntimePlacement,
    readonly instanceId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** From now on, claim what this instance owns under `url` (its advertised internal API). */
  start(url: string): Promise<void> {
    this.url = url;
    this.unsubscribe = this.placement.onChange(() => void this.claim());
    return this.claim();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.url = null;
    await this.writes;
    await this.store.delete(PLACEMENTS, this.instanceId).catch(() => undefined);
  }

  /** The internal API of the instance that runs `workloadId`, or null when that is this one or nobody is known. */
  async ownerUrl(workloadId: string): Promise<string | null> {
    if (this.placement.owns(workloadId)) return null;
    const docs = await this.claims();
    let owner: PlacementDoc | null = null;
    for (const doc of docs) {
      if (doc.partitions.includes(partitionOf(workloadId, doc.partitionCount)) && (!owner || doc.at > owner.at)) owner = doc;
    }
    return owner && owner._id !== this.instanceId ? owner.url : null;
  }

  private claim(): Promise<void> {
    const assignment: PartitionAssignment | null = this.placement.current();
    const url = this.url;
    if (!url || !assignment) return this.writes;
    this.writes = this.writes
      .then(() => this.store.put(PLACEMENTS, { _id: this.instanceId, url, partitions: assignment.partitions, partitionCount: assignment.partitionCount, at: this.now() }))
      .then(() => this.prune())
      .then(() => {
        this.cached = null;
      })
      .catch((error) => this.logger.warn(`placement claim not written: ${error instanceof Error ? error.message : error}`));
    return this.writes;
  }

  /**
   * Deletes the claims nobody can win any more (every partition they name is claimed by a newer
   * one, or they count partitions differently than the newest claim): what instances that died
   * without withdrawing left behind, so the collection stays one document per live instance.
   */
  private async prune(): Promise<void> {
    const docs = await this.store.find<PlacementDoc>(PLACEMENTS, {});
    const newest = docs.reduce<PlacementDoc | null>((a, d) => (!a || d.at > a.at ? d : a), null);
    for (const doc of docs) {
      if (doc._id === this.instanceId) continue;
      const outdated = doc.partitionCount !== newest?.partitionCount;
      const superseded = doc.partitions.every((p) => docs.some((d) => d !== doc && d.at > doc.at && d.partitionCount === doc.partitionCount && d.partitions.includes(p)));
      if (outdated || superseded) await this.store.delete(PLACEMENTS, doc._id);
    }
  }

  private claims(): Promise<PlacementDoc[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at > CACHE_MS) {
      const docs = this.store.find<PlacementDoc>(PLACEMENTS, {});
      this.cached = { at: now, docs };
      docs.catch(() => {
        if (this.cached?.docs === docs) this.cached = null;
      });
    }
    return this.cached.docs;
  }
}
