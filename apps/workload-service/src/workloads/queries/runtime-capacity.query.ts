import type { RuntimeSettings } from '@wcp/contracts';
import type { ReadModelStore } from '../../read-models/read-model-store';
import { ACTIVE_STATUSES } from '../domain/workload.decider';
import { holdingOf, sumHoldings, type Holding } from '../domain/runtime-capacity';
import { WORKLOADS } from '../projections/workload.projection';

/**
 * What the running and starting workloads besides `exceptId` hold of the runtime's capacity,
 * from the read model: the autoscaler's advisory view. Admission itself goes through the
 * capacity ledger (capacity-ledger.service.ts), which the event store serialises.
 */
export async function heldCapacity(readModels: ReadModelStore, exceptId: string): Promise<Holding> {
  const docs = await readModels.find<{ _id: string; runtime: RuntimeSettings }>(WORKLOADS, { $and: [{ status: { $in: ACTIVE_STATUSES } }, { _id: { $ne: exceptId } }] });
  return sumHoldings(docs.map((d) => holdingOf(d.runtime)));
}
