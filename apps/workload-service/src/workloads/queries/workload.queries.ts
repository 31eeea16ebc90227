import { Inject, Injectable } from '@nestjs/common';
import { accessRefusal, Grants } from '@wcp/access';
import { Actor, DomainError, isDomainError, Permission, SharedRoleDto, WorkloadDto, WorkloadEventDto } from '@wcp/contracts';
import { z } from 'zod';
import { ARTIFACTS, ArtifactDoc } from '../../artifacts/projections/artifact.projection';
import { Filter, READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { notFound } from '../domain/workload.decider';
import { REPLACEMENTS, ReplacementDoc } from '../../rollouts/projections/replacement.projection';
import { PROTONS, ProtonDoc } from '../projections/proton.projection';
import { WORKLOADS, WorkloadDoc } from '../projections/workload.projection';
import { EVENT_STORE, EventStore } from '../../event-store/event-store';
import { toApiEvent } from '../domain/workload-event-types';
import type { WorkloadEvent } from '../domain/workload.events';
import { renderWorkload, rolesOf, visibleTo } from './workload.renderer';

/** The list query as the gateway forwards it, already validated. */
export const WorkloadListQuery = z.object({
  search: z.string().max(100).optional(),
  status: z.array(z.string()).optional(),
  importance: z.array(z.string()).optional(),
  ids: z.array(z.string()).optional(),
  createdBy: z.string().optional(),
  artifactId: z.string().optional(),
  artifactStatus: z.array(z.string()).optional(),
  tagKeys: z.array(z.string()).optional(),
  tagValues: z.array(z.string()).optional(),
  orderBy: z.string().default('-createdAt'),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(10_000).default(10),
});
export type WorkloadListQuery = z.infer<typeof WorkloadListQuery>;

const SORT_FIELDS: Record<string, string> = {
  name: 'nameLower',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  status: 'status',
  importance: 'importanceRank',
};

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function workloadFilter(query: WorkloadListQuery, actor: Actor): Filter {
  const and: Filter[] = [visibleTo(actor)];
  if (query.search) {
    const s = escapeRegex(query.search);
    and.push({
      $or: [
        { name: { $regex: s, $options: 'i' } },
        { description: { $regex: s, $options: 'i' } },
        { _id: { $regex: `^${escapeRegex(query.search.toLowerCase())}` } },
      ],
    });
  }
  if (query.status?.length) and.push({ status: { $in: query.status } });
  if (query.importance?.length) and.push({ importance: { $in: query.importance } });
  if (query.ids?.length) and.push({ _id: { $in: query.ids } });
  if (query.createdBy) and.push({ $or: [{ 'creator.id': query.createdBy }, { 'creator.username': query.createdBy }] });
  if (query.artifactId) and.push({ artifactId: query.artifactId });
  if (query.artifactStatus?.length) and.push({ 'artifact.status': { $in: query.artifactStatus } });
  if (query.tagKeys?.length) and.push({ 'tags.name': { $in: query.tagKeys } });
  if (query.tagValues?.length) and.push({ 'tags.value': { $in: query.tagValues } });
  return { $and: and };
}

export function workloadSort(orderBy: string): Array<[string, 1 | -1]> {
  const direction = orderBy.startsWith('-') ? -1 : 1;
  const field = SORT_FIELDS[orderBy.replace(/^-/, '')] ?? 'createdAt';
  // _id breaks ties so pages never overlap or skip.
  return [[field, direction], ['_id', direction]];
}

@Injectable()
export class WorkloadQueries {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore, @Inject(EVENT_STORE) private readonly eventStore: EventStore) {}

  async list(query: WorkloadListQuery, actor: Actor): Promise<{ totalCount: number; data: WorkloadDto[] }> {
    const filter = workloadFilter(query, actor);
    const [totalCount, docs] = await Promise.all([
      this.store.count(WORKLOADS, filter),
      this.store.find<WorkloadDoc>(WORKLOADS, filter, { sort: workloadSort(query.orderBy), skip: query.offset, limit: query.limit }),
    ]);
    return { totalCount, data: docs.map((d) => renderWorkload(d, actor)) };
  }

  /** The workload as the actor sees it, or WORKLOAD_NOT_FOUND when it is invisible to them. */
  async get(workloadId: string, actor: Actor): Promise<WorkloadDto | DomainError> {
    const doc = await this.visible(workloadId, actor);
    return isDomainError(doc) ? doc : renderWorkload(doc, actor);
  }

  async events(workloadId: string, actor: Actor, offset: number, limit: number): Promise<{ totalCount: number; data: WorkloadEventDto[] } | DomainError> {
    const doc = await this.visible(workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(doc)) return doc;
    // The workload's stream is its events list: read by `_id` (a cached stream costs one look-up
    // for what is new), where a projected copy would cost a write per command and, on FerretDB,
    // a scan of every workload's events per read.
    const events = await this.eventStore.readStream(`workload-${workloadId}`);
    const data: WorkloadEventDto[] = [];
    for (let i = events.length - 1 - offset; i >= 0 && data.length < limit; i--) {
      const api = toApiEvent(events[i] as unknown as WorkloadEvent);
      data.push({ id: events[i].eventId, workloadId, timestamp: events[i].occurredAt, eventType: api.eventType, actorId: events[i].actorId, details: api.details });
    }
    return { totalCount: events.length, data };
  }

  async related(workloadId: string, actor: Actor) {
    const doc = await this.visible(workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(doc)) return doc;
    const artifact = await this.store.get<ArtifactDoc>(ARTIFACTS, doc.artifactId);
    const data: Array<{ id: string; type: 'artifact' | 'proton' | 'replacement'; name: string; createdAt: string }> = [];
    if (artifact) data.push({ id: artifact._id, type: 'artifact', name: artifact.name, createdAt: artifact.createdAt });
    const protons = await this.store.find<ProtonDoc>(PROTONS, { workloadId }, { sort: [['createdAt', 1], ['_id', 1]] });
    for (const p of protons) data.push({ id: p._id, type: 'proton', name: p.name, createdAt: p.createdAt });
    const replacements = await this.store.find<ReplacementDoc>(REPLACEMENTS, { workloadId }, { sort: [['createdAt', 1], ['_id', 1]] });
    for (const r of replacements) data.push({ id: r._id, type: 'replacement', name: `${r.state.strategy} to ${r.state.candidateArtifactId}`, createdAt: r.createdAt });
    return { count: data.length, data };
  }

  /** `GET sharedRoles`: every recipient, in the order the last PATCH gave them. */
  async sharedRoles(workloadId: string, actor: Actor, offset: number, limit: number): Promise<{ totalCount: number; data: SharedRoleDto[] } | DomainError> {
    const doc = await this.visible(workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(doc)) return doc;
    const all = doc.sharedRoles ?? Object.entries(rolesOf(doc)).map(([id, role]) => ({ id, name: id, shareRecipientType: 'user' as const, role }));
    return { totalCount: all.length, data: all.slice(offset, offset + limit) };
  }

  /**
   * Who holds which role on a workload, for the gateway's policy check on every route: the
   * gateway authenticated the caller and decides with the same `accessRefusal`.
   */
  async grants(workloadId: string): Promise<{ workloadId: string; grants: Grants } | DomainError> {
    const doc = await this.store.get<WorkloadDoc>(WORKLOADS, workloadId);
    return doc ? { workloadId, grants: rolesOf(doc) } : notFound(workloadId);
  }

  /** Ids and activity of every workload the actor may see, for cross-workload statistics. */
  async visibleIds(query: WorkloadListQuery, actor: Actor): Promise<Array<{ id: string; status: string }>> {
    const docs = await this.store.find<WorkloadDoc>(WORKLOADS, workloadFilter(query, actor), { sort: [['_id', 1]] });
    return docs.map((d) => ({ id: d._id, status: d.status }));
  }

  private visible(workloadId: string, actor: Actor, needed: Permission = 'CAN_VIEW'): Promise<WorkloadDoc | DomainError> {
    return visibleWorkload(this.store, workloadId, actor, needed);
  }
}

/** The workload's read model if the actor may see it and holds `needed`, else the refusal. */
export async function visibleWorkload(store: ReadModelStore, workloadId: string, actor: Actor, needed: Permission): Promise<WorkloadDoc | DomainError> {
  const doc = await store.get<WorkloadDoc>(WORKLOADS, workloadId);
  if (!doc) return notFound(workloadId);
  return accessRefusal(rolesOf(doc), actor, needed, workloadId) ?? doc;
}
