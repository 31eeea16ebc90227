import { Inject, Injectable } from '@nestjs/common';
import type { RuntimeSettings, WorkloadStatus } from '@wcp/contracts';
import type { Projection } from '../../event-store/commit.pipeline';
import type { StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import type { WorkloadEvent } from '../domain/workload.events';
import { WORKLOADS, WorkloadDoc } from './workload.projection';

export interface ProtonDoc {
  _id: string;
  name: string;
  workloadId: string;
  artifactId: string;
  status: WorkloadStatus | 'initializing' | 'warming' | 'draining';
  /** `active` while it is the workload's proton; null once replaced. */
  role: 'active' | 'candidate' | null;
  runtime: RuntimeSettings;
  runningSince: string | null;
  createdAt: string;
  updatedAt: string;
  /** The autoscaler's last decision for this proton (absent until its first Proton Scaled). */
  scale?: { desired: number; reason: string; mode: string; at: string };
  [key: string]: unknown;
}

export const PROTONS = 'protons';

/** One document per proton: each start runs a new proton, and the previous one stops being active. */
@Injectable()
export class ProtonProjection implements Projection {
  readonly collections = [PROTONS];

  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async init(): Promise<void> {
    await this.store.ensureIndexes(PROTONS, [{ workloadId: 1, createdAt: -1 }]);
  }

  async apply(stored: StoredEvent): Promise<void> {
    if (!stored.streamId.startsWith('workload-')) return;
    const workloadId = stored.streamId.slice('workload-'.length);
    const event = stored as unknown as WorkloadEvent;
    switch (event.type) {
      case 'workload.start-requested': {
        if (await this.store.get(PROTONS, event.data.protonId)) return;
        const workload = await this.store.get<WorkloadDoc>(WORKLOADS, workloadId);
        if (!workload) return;
        await this.store.setWhere(PROTONS, { workloadId, role: 'active' }, { role: null, updatedAt: stored.occurredAt });
        const count = await this.store.count(PROTONS, { workloadId });
        const doc: ProtonDoc = {
          _id: event.data.protonId,
          name: `${workload.name}-p${count + 1}`,
          workloadId,
          artifactId: workload.artifactId,
          status: 'submitted',
          role: 'active',
          runtime: workload.runtime,
          runningSince: null,
          createdAt: stored.occurredAt,
          updatedAt: stored.occurredAt,
        };
        await this.store.put(PROTONS, doc);
        return;
      }
      case 'workload.stop-requested':
        await this.store.setWhere(PROTONS, { workloadId, role: 'active' }, { status: 'stopping', updatedAt: stored.occurredAt });
        return;
      case 'workload.status-changed': {
        if (!event.data.protonId) return;
        const proton = await this.store.get<ProtonDoc>(PROTONS, event.data.protonId);
        if (!proton) return;
        const running = event.data.to === 'running';
        await this.store.put(PROTONS, {
          ...proton,
          status: event.data.to,
          runningSince: running ? (proton.runningSince ?? stored.occurredAt) : null,
          updatedAt: stored.occurredAt,
        });
        return;
      }
      case 'workload.replacement-finished': {
        if (event.data.outcome !== 'completed' || !event.data.protonId) return;
        const candidate = await this.store.get<ProtonDoc>(PROTONS, event.data.protonId);
        if (!candidate || candidate.role === 'active') return;
        await this.store.setWhere(PROTONS, { workloadId, role: 'active' }, { role: null, status: 'stopped', updatedAt: stored.occurredAt });
        await this.store.put(PROTONS, { ...candidate, role: 'active', status: 'running', runningSince: candidate.runningSince ?? stored.occurredAt, updatedAt: stored.occurredAt });
        return;
      }
      case 'workload.proton-scaled': {
        const proton = await this.store.get<ProtonDoc>(PROTONS, event.data.protonId);
        if (!proton) return;
        // No updatedAt: a proton's settings did not change, its replica count did (the event list has it).
        await this.store.put(PROTONS, { ...proton, scale: { desired: event.data.to, reason: event.data.reason, mode: event.data.mode, at: stored.occurredAt } });
        return;
      }
      case 'workload.deleted':
        for (const p of await this.store.find<ProtonDoc>(PROTONS, { workloadId })) await this.store.delete(PROTONS, p._id);
        return;
    }
  }
}
