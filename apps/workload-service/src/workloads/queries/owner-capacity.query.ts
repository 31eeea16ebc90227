import type { ReadModelStore } from '../../read-models/read-model-store';
import { ACTIVE_STATUSES } from '../domain/workload.decider';
import { WORKLOADS } from '../projections/workload.projection';

/**
 * Workloads of one owner that run or are starting, besides `exceptId`: the input of the
 * per-owner limit on create and start. Read from the read model, so it is a soft quota: two
 * racing starts may pass it by one, which is acceptable for a capacity guard.
 */
export function countActiveWorkloadsOfOwner(readModels: ReadModelStore, ownerId: string, exceptId: string): Promise<number> {
  return readModels.count(WORKLOADS, { $and: [{ 'creator.id': ownerId }, { status: { $in: ACTIVE_STATUSES } }, { _id: { $ne: exceptId } }] });
}
