import { Inject, Injectable } from '@nestjs/common';
import { IMPORTANCES, RuntimeSettings, SharedRoleDto, Tag, UserData, WorkloadStatus } from '@wcp/contracts';
import type { Projection } from '../../event-store/commit.pipeline';
import type { StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import type { ArtifactDoc } from '../../artifacts/projections/artifact.projection';
import type { ArtifactEvent } from '../../artifacts/domain/artifact.events';
import { ACTIVE_STATUSES, creatorGrant } from '../domain/workload.decider';
import type { WorkloadEvent } from '../domain/workload.events';

export interface WorkloadDoc {
  _id: string;
  name: string;
  /** Lower-cased name: sorting by name is case-insensitive. */
  nameLower: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  creator: UserData;
  owners: UserData[];
  /** Every recipient and its role (a list: FerretDB-safe keys); `principals` indexes visibility. */
  sharedRoles: SharedRoleDto[];
  principals: string[];
  status: WorkloadStatus;
  importance: string;
  /** low = 0 … critical = 3, so `orderBy=-importance` puts the most important first. */
  importanceRank: number;
  artifactId: string;
  artifact: ArtifactDoc['summary'];
  protonId: string | null;
  runtime: RuntimeSettings;
  tags: Tag[];
  replacement: unknown | null;
  /** Id of the replacement holding the workload (started, not finished): what `settings` shows and 409 guards. */
  replacementLock?: string | null;
  lastResponse: unknown | null;
  /** Last applied stream version: makes replays idempotent. */
  v: number;
  [key: string]: unknown;
}

export const WORKLOADS = 'workloads';

@Injectable()
export class WorkloadProjection implements Projection {
  readonly collections = [WORKLOADS];

  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async init(): Promise<void> {
    await this.store.ensureIndexes(WORKLOADS, [{ principals: 1, createdAt: -1 }, { artifactId: 1 }, { status: 1 }]);
  }

  async apply(stored: StoredEvent): Promise<void> {
    if (stored.streamId.startsWith('artifact-')) return this.applyArtifact(stored);
    if (!stored.streamId.startsWith('workload-')) return;
    const event = stored as unknown as WorkloadEvent & StoredEvent;
    const workloadId = stored.streamId.slice('workload-'.length);

    if (event.type === 'workload.created') {
      // Replayed after the workload moved on (a redelivered create): the document is newer.
      if (((await this.store.get<WorkloadDoc>(WORKLOADS, workloadId))?.v ?? 0) >= stored.version) return;
      const d = event.data;
      const artifact = await this.store.get<ArtifactDoc>('artifacts', d.artifactId);
      const creator = { id: d.creator.id, username: d.creator.username };
      const doc: WorkloadDoc = {
        _id: workloadId,
        name: d.name,
        nameLower: d.name.toLowerCase(),
        description: d.description,
        createdAt: d.createdAt,
        updatedAt: d.createdAt,
        creator,
        owners: [creator],
        sharedRoles: [creatorGrant(creator)],
        principals: [creator.id],
        status: 'stopped',
        importance: d.importance,
        importanceRank: importanceRank(d.importance),
        artifactId: d.artifactId,
        artifact: artifact?.summary ?? { id: d.artifactId, name: '', status: 'draft', type: 'service', version: null, artifactRepositoryId: null },
        protonId: null,
        runtime: d.runtime,
        tags: d.tags,
        replacement: null,
        lastResponse: null,
        v: stored.version,
      };
      await this.store.put(WORKLOADS, doc);
      return;
    }
    // This process's own write of the version before this one will do: no read per command.
    const doc = await this.store.get<WorkloadDoc>(WORKLOADS, workloadId, { ownWriteAt: stored.version - 1 });
    if (!doc || stored.version <= doc.v) return;
    const next: WorkloadDoc = { ...doc, v: stored.version, updatedAt: stored.occurredAt };
    switch (event.type) {
      case 'workload.updated': {
        const c = event.data.changes;
        if (c.name !== undefined) Object.assign(next, { name: c.name, nameLower: c.name.toLowerCase() });
        if (c.description !== undefined) next.description = c.description;
        if (c.importance !== undefined) Object.assign(next, { importance: c.importance, importanceRank: importanceRank(c.importance) });
        if (c.tags !== undefined) next.tags = c.tags;
        break;
      }
      case 'workload.start-requested':
        next.status = 'submitted';
        next.protonId = event.data.protonId;
        break;
      case 'workload.stop-requested':
        next.status = 'stopping';
        break;
      case 'workload.status-changed':
        next.status = event.data.to;
        next.protonId = event.data.protonId ?? next.protonId;
        break;
      case 'workload.deleted':
        await this.store.delete(WORKLOADS, workloadId);
        return;
      case 'workload.replacement-started': {
        const d = event.data;
        next.replacementLock = d.replacementId;
        next.replacement = { id: d.replacementId, status: 'submitted', strategy: d.strategy, candidateArtifactId: d.candidateArtifactId, candidateProtonIds: [d.candidateProtonId], message: null, updatedAt: stored.occurredAt };
        break;
      }
      case 'workload.settings-updated':
        next.runtime = event.data.runtime;
        break;
      case 'workload.shared-roles-updated':
        Object.assign(next, sharingFields(event.data.after));
        break;
      case 'workload.replacement-finished': {
        const d = event.data;
        next.replacementLock = null;
        if (d.outcome !== 'completed') break;
        next.replacement = null;
        next.runtime = d.runtime;
        if (d.artifactId !== next.artifactId) {
          const artifact = await this.store.get<ArtifactDoc>('artifacts', d.artifactId);
          next.artifactId = d.artifactId;
          if (artifact) next.artifact = artifact.summary;
        }
        if (d.protonId && (ACTIVE_STATUSES as string[]).includes(next.status)) Object.assign(next, { protonId: d.protonId, status: 'running' });
        break;
      }
      default:
        break;
    }
    await this.store.put(WORKLOADS, next);
  }

  /** Workloads show a summary of their artifact; keep it in step when the artifact changes. */
  private async applyArtifact(stored: StoredEvent): Promise<void> {
    const event = stored as unknown as ArtifactEvent;
    if (event.type !== 'artifact.locked' && event.type !== 'artifact.updated') return;
    const artifact = await this.store.get<ArtifactDoc>('artifacts', stored.streamId.slice('artifact-'.length));
    if (artifact) await this.store.setWhere(WORKLOADS, { artifactId: artifact._id }, { artifact: artifact.summary });
  }
}

/** `owners` are the users holding OWNER (groups and organizations are not users). */
function sharingFields(sharedRoles: SharedRoleDto[]): Pick<WorkloadDoc, 'sharedRoles' | 'principals' | 'owners'> {
  return {
    sharedRoles,
    principals: sharedRoles.map((r) => r.id),
    owners: sharedRoles.filter((r) => r.role === 'OWNER' && r.shareRecipientType === 'user').map((r) => ({ id: r.id, username: r.name })),
  };
}

export function importanceRank(importance: string): number {
  return IMPORTANCES.length - 1 - IMPORTANCES.indexOf(importance as (typeof IMPORTANCES)[number]);
}
