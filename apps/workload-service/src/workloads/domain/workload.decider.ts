import { accessRefusal, Grants, workloadNotFound } from '@wcp/access';
import { Actor, domainError, DomainError, Importance, Permission, RuntimeSettings, SharedRoleDto, Tag, UpdateWorkloadBody, WorkloadStatus } from '@wcp/contracts';
import type { ReplacementPlan, WorkloadEvent } from './workload.events';

/** State of one workload, rebuilt by folding its events. */
export type WorkloadState =
  | { kind: 'absent'; version: number }
  | { kind: 'deleted'; version: number; id: string; artifactId: string }
  | {
      kind: 'active';
      version: number;
      id: string;
      name: string;
      description: string | null;
      importance: Importance;
      artifactId: string;
      runtime: RuntimeSettings;
      tags: Tag[];
      creatorId: string;
      /** Every recipient with its role, in the order they were given; `roles` indexes them for the policy. */
      sharedRoles: SharedRoleDto[];
      roles: Grants;
      status: WorkloadStatus;
      protonId: string | null;
      /** The replacement in progress, if any: one at a time. */
      replacement: { id: string; candidateProtonId: string } | null;
      /** Replica counts the autoscaler decided, per proton (its last Proton Scaled); absent: the runtime's own count. */
      scaled: Record<string, number>;
    };

export const initialWorkloadState: WorkloadState = { kind: 'absent', version: 0 };

export function evolveWorkload(state: WorkloadState, event: WorkloadEvent): WorkloadState {
  const version = state.version + 1;
  switch (event.type) {
    case 'workload.created': {
      const d = event.data;
      return {
        kind: 'active',
        version,
        id: d.workloadId,
        name: d.name,
        description: d.description,
        importance: d.importance,
        artifactId: d.artifactId,
        runtime: d.runtime,
        tags: d.tags,
        creatorId: d.creator.id,
        sharedRoles: [creatorGrant(d.creator)],
        roles: { [d.creator.id]: 'OWNER' },
        status: 'stopped',
        protonId: null,
        replacement: null,
        scaled: {},
      };
    }
    case 'workload.updated':
      return state.kind === 'active' ? { ...state, ...stripUndefined(event.data.changes), version } : { ...state, version };
    case 'workload.start-requested':
      return state.kind === 'active' ? { ...state, status: 'submitted', protonId: event.data.protonId, scaled: {}, version } : { ...state, version };
    case 'workload.proton-scaled':
      return state.kind === 'active' ? { ...state, scaled: { ...state.scaled, [event.data.protonId]: event.data.to }, version } : { ...state, version };
    case 'workload.replica-restarted':
    case 'workload.proton-errored':
    case 'workload.stats-reset':
      return { ...state, version };
    case 'workload.stop-requested':
      return state.kind === 'active' ? { ...state, status: 'stopping', version } : { ...state, version };
    case 'workload.status-changed':
      return state.kind === 'active'
        ? { ...state, status: event.data.to, protonId: event.data.protonId ?? state.protonId, version }
        : { ...state, version };
    case 'workload.deleted':
      return state.kind === 'active' ? { kind: 'deleted', id: state.id, artifactId: state.artifactId, version } : { ...state, version };
    case 'workload.replacement-started':
      return state.kind === 'active' ? { ...state, replacement: { id: event.data.replacementId, candidateProtonId: event.data.candidateProtonId }, version } : { ...state, version };
    case 'workload.replacement-finished': {
      if (state.kind !== 'active') return { ...state, version };
      const d = event.data;
      if (d.outcome !== 'completed') return { ...state, replacement: null, version };
      // The candidate was ready when it took over; a stopped workload only changed its settings.
      const took = d.protonId !== null && ACTIVE_STATUSES.includes(state.status);
      const protonId = took ? d.protonId : state.protonId;
      const scaled = protonId !== null && protonId in state.scaled ? { [protonId]: state.scaled[protonId] } : {};
      return { ...state, replacement: null, artifactId: d.artifactId, runtime: d.runtime, protonId, status: took ? 'running' : state.status, scaled, version };
    }
    case 'workload.settings-updated':
      return state.kind === 'active' ? { ...state, runtime: event.data.runtime, version } : { ...state, version };
    case 'workload.artifact-promoted':
      return { ...state, version };
    case 'workload.shared-roles-updated':
      return state.kind === 'active' ? { ...state, sharedRoles: event.data.after, roles: grantsOf(event.data.after), version } : { ...state, version };
  }
}

/** The creator is the first OWNER of a workload. */
export function creatorGrant(creator: { id: string; username: string }): SharedRoleDto {
  return { id: creator.id, name: creator.username, shareRecipientType: 'user', role: 'OWNER' };
}

export function grantsOf(sharedRoles: readonly Pick<SharedRoleDto, 'id' | 'role'>[]): Grants {
  return Object.fromEntries(sharedRoles.map((r) => [r.id, r.role]));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const ACTIVE_STATUSES: WorkloadStatus[] = ['submitted', 'provisioning', 'launching', 'running'];

export interface Decision<TEvent> {
  events: TEvent[];
  /** What the caller is told; `accepted` false means a no-op answered with 200. */
  result: { accepted: boolean; message: string };
}

type Active = Extract<WorkloadState, { kind: 'active' }>;

/** Shared guard of the deciders: the workload exists and `accessRefusal` has nothing to say. */
export function requireAccess(state: WorkloadState, actor: Actor, needed: Permission, workloadId: string): DomainError | Active {
  if (state.kind !== 'active') return notFound(workloadId);
  return accessRefusal(state.roles, actor, needed, workloadId) ?? state;
}

export const notFound = workloadNotFound;

export function decideUpdate(state: WorkloadState, actor: Actor, workloadId: string, input: UpdateWorkloadBody): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_UPDATE', workloadId);
  if ('code' in w) return w;
  const changes: Extract<WorkloadEvent, { type: 'workload.updated' }>['data']['changes'] = {};
  if (input.name !== undefined && input.name !== w.name) changes.name = input.name;
  if (input.description !== undefined && (input.description ?? null) !== w.description) changes.description = input.description ?? null;
  if (input.importance !== undefined && input.importance !== w.importance) changes.importance = input.importance;
  if (input.tags !== undefined && JSON.stringify(input.tags) !== JSON.stringify(w.tags)) changes.tags = input.tags;
  if (Object.keys(changes).length === 0) return { events: [], result: { accepted: false, message: 'Nothing to change.' } };
  return { events: [{ type: 'workload.updated', schemaVersion: 1, data: { changes } }], result: { accepted: true, message: 'Workload updated.' } };
}

export interface StartContext {
  /** Workloads of the same owner that are running or starting, excluding this one. */
  activeWorkloadsOfOwner: number;
  maxActiveWorkloadsPerOwner: number;
}

/** The per-owner limit on running workloads: refused on start and on create alike (403). */
export function capacityRefusal(context: StartContext): DomainError | null {
  if (context.activeWorkloadsOfOwner < context.maxActiveWorkloadsPerOwner) return null;
  return domainError(
    'forbidden',
    'WORKLOAD_LIMIT_EXCEEDED',
    `Starting this workload would exceed the limit of ${context.maxActiveWorkloadsPerOwner} running workloads per owner.`,
  );
}

export function decideStart(state: WorkloadState, actor: Actor, workloadId: string, context: StartContext, newProtonId: string): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_UPDATE', workloadId);
  if ('code' in w) return w;
  if (ACTIVE_STATUSES.includes(w.status)) {
    return { events: [], result: { accepted: false, message: `Workload is already ${w.status === 'running' ? 'running' : 'starting'}.` } };
  }
  if (w.status === 'stopping') {
    return domainError('conflict', 'WORKLOAD_STOPPING', 'Workload is stopping; start it again once it has stopped.');
  }
  const refusal = capacityRefusal(context);
  if (refusal) return refusal;
  return { events: [{ type: 'workload.start-requested', schemaVersion: 1, data: { protonId: newProtonId } }], result: { accepted: true, message: 'Start requested.' } };
}

export function decideStop(state: WorkloadState, actor: Actor, workloadId: string): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_UPDATE', workloadId);
  if ('code' in w) return w;
  if (w.status === 'stopped' || w.status === 'stopping' || w.status === 'terminated') {
    return { events: [], result: { accepted: false, message: `Workload is already ${w.status}.` } };
  }
  return { events: [{ type: 'workload.stop-requested', schemaVersion: 1, data: {} }], result: { accepted: true, message: 'Stop requested.' } };
}

export function decideDelete(state: WorkloadState, actor: Actor, workloadId: string, leftovers: string[]): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_DELETE', workloadId);
  if ('code' in w) return w;
  return { events: [{ type: 'workload.deleted', schemaVersion: 1, data: { leftovers } }], result: { accepted: true, message: 'Workload deleted.' } };
}

/**
 * A status reported by the runtime for a proton. Only real transitions of the workload's
 * current proton become events; reports that arrive late (a proton still "running" after a
 * stop was requested, or anything about an older proton) are dropped.
 */
export function decideStatus(state: WorkloadState, to: WorkloadStatus, protonId: string, reason: string | null): WorkloadEvent[] {
  if (state.kind !== 'active' || state.protonId !== protonId || state.status === to) return [];
  if (state.status === 'stopped') return [];
  if (state.status === 'stopping' && to !== 'stopped') return [];
  // A replacement retires this proton on purpose; the workload keeps running on the candidate.
  if (state.replacement && to === 'stopped') return [];
  return [{ type: 'workload.status-changed', schemaVersion: 1, data: { from: state.status, to, protonId, reason } }];
}

/** Runtime facts worth a line in the workload's history, for its current proton only. */
export function decideRuntimeFact(state: WorkloadState, event: Extract<WorkloadEvent, { type: 'workload.replica-restarted' | 'workload.proton-errored' }>): WorkloadEvent[] {
  return state.kind === 'active' && state.protonId === event.data.protonId ? [event] : [];
}

export type ProtonScaled = Extract<WorkloadEvent, { type: 'workload.proton-scaled' }>['data'];

/**
 * An autoscaler decision for one proton of a running workload: its active proton, or the
 * candidate of the replacement in progress. The outgoing proton of a replacement is the
 * rollout's to retire, never the autoscaler's to grow or shrink. `from` is the proton's count
 * as the stream knows it; only a real change is an event (no event per tick).
 */
export function decideScaleProton(state: WorkloadState, decision: Omit<ProtonScaled, 'from'> & { from?: number }): WorkloadEvent[] {
  if (state.kind !== 'active' || state.status !== 'running') return [];
  const { protonId } = decision;
  const isCandidate = state.replacement?.candidateProtonId === protonId;
  if (!isCandidate && (state.protonId !== protonId || state.replacement)) return [];
  const from = state.scaled[protonId] ?? decision.from;
  if (from === undefined || from === decision.to || decision.to < 0) return [];
  return [{ type: 'workload.proton-scaled', schemaVersion: 1, data: { ...decision, from } }];
}

export type CreateWorkloadInput = Omit<Extract<WorkloadEvent, { type: 'workload.created' }>['data'], 'creator' | 'createdAt'>;

/**
 * Create deploys (spec §3): the workload and its first start are one commit, so a crash can
 * never leave a created workload that nobody starts, and the limit refuses the create itself.
 */
export function decideCreate(
  state: WorkloadState,
  actor: Actor,
  input: CreateWorkloadInput,
  now: string,
  context: StartContext,
  newProtonId: string,
): Decision<WorkloadEvent> | DomainError {
  if (state.kind !== 'absent') {
    return domainError('conflict', 'WORKLOAD_EXISTS', `Workload ${input.workloadId} already exists.`);
  }
  const refusal = capacityRefusal(context);
  if (refusal) return refusal;
  return {
    events: [
      {
        type: 'workload.created',
        schemaVersion: 1,
        data: { ...input, creator: { id: actor.id, username: actor.username }, createdAt: now },
      },
      { type: 'workload.start-requested', schemaVersion: 1, data: { protonId: newProtonId } },
    ],
    result: { accepted: true, message: 'Workload created and starting.' },
  };
}

/** Stats reset: owners only; the telemetry service applies it, the stream keeps the record. */
export function decideResetStats(
  state: WorkloadState,
  actor: Actor,
  workloadId: string,
  window: { protonId: string | null; startTime: string | null; endTime: string | null },
): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_UPDATE', workloadId);
  if ('code' in w) return w;
  return { events: [{ type: 'workload.stats-reset', schemaVersion: 1, data: window }], result: { accepted: true, message: 'Statistics reset.' } };
}

export type { ReplacementPlan } from './workload.events';

/**
 * A replacement (settings PATCH or new artifact) takes the workload's lock: one at a time
 * (409), on a running workload. A stopped or errored workload has nothing to roll: its
 * settings change at once and the next start uses them.
 */
export function decideStartReplacement(state: WorkloadState, actor: Actor, workloadId: string, plan: ReplacementPlan): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_UPDATE', workloadId);
  if ('code' in w) return w;
  if (w.replacement) {
    if (w.replacement.id === plan.replacementId) return { events: [], result: { accepted: true, message: 'Replacement already started.' } };
    return domainError('conflict', 'REPLACEMENT_IN_PROGRESS', `Replacement ${w.replacement.id} is in progress; cancel it or wait until it ends.`);
  }
  if (w.status === 'submitted' || w.status === 'provisioning' || w.status === 'launching') {
    return domainError('conflict', 'WORKLOAD_STARTING', 'The workload is starting; replace it once it runs.');
  }
  if (w.status === 'stopping') return domainError('conflict', 'WORKLOAD_STOPPING', 'The workload is stopping; change it once it has stopped.');
  const started: WorkloadEvent = { type: 'workload.replacement-started', schemaVersion: 1, data: plan };
  if (w.status === 'running' && w.protonId) return { events: [started], result: { accepted: true, message: 'Replacement started.' } };
  return {
    events: [started, ...finishEvents(plan, 'completed', 'The workload is not running: the new settings apply at its next start.', null)],
    result: { accepted: true, message: 'Settings applied; the workload is not running.' },
  };
}

function finishEvents(plan: ReplacementPlan, outcome: 'completed' | 'errored' | 'canceled', message: string | null, protonId: string | null): WorkloadEvent[] {
  const finished: WorkloadEvent = {
    type: 'workload.replacement-finished',
    schemaVersion: 1,
    data: { replacementId: plan.replacementId, outcome, message, protonId, artifactId: plan.candidateArtifactId, runtime: plan.runtime },
  };
  if (outcome !== 'completed') return [finished];
  return [finished, { type: 'workload.settings-updated', schemaVersion: 1, data: { runtime: plan.runtime, replacementId: plan.replacementId } }];
}

/** The saga's last word on a replacement; a repeat (or a replacement the workload no longer holds) changes nothing. */
export function decideFinishReplacement(
  state: WorkloadState,
  plan: ReplacementPlan,
  outcome: 'completed' | 'errored' | 'canceled',
  message: string | null,
): WorkloadEvent[] {
  if (state.kind !== 'active' || state.replacement?.id !== plan.replacementId) return [];
  return finishEvents(plan, outcome, message, outcome === 'completed' ? plan.candidateProtonId : null);
}

/**
 * Promote: the running draft artifact becomes locked (version assigned by the caller) and the
 * statistics start afresh, recorded as a Stats Reset. 422 when there is nothing to promote.
 */
export function decidePromote(
  state: WorkloadState,
  actor: Actor,
  workloadId: string,
  artifact: { status: 'draft' | 'locked' } | null,
  version: () => number,
): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_UPDATE', workloadId);
  if ('code' in w) return w;
  if (w.replacement) return domainError('validation', 'REPLACEMENT_IN_PROGRESS', 'A replacement is in progress; promote once it has ended.');
  if (w.status !== 'running' || !w.protonId) return domainError('validation', 'NO_ACTIVE_PROTON', 'The workload has no running proton to promote.');
  if (!artifact || artifact.status !== 'draft') return domainError('validation', 'ARTIFACT_NOT_DRAFT', `Artifact ${w.artifactId} is not a draft; only a draft can be promoted.`);
  return {
    events: [
      { type: 'workload.artifact-promoted', schemaVersion: 1, data: { artifactId: w.artifactId, version: version() } },
      { type: 'workload.stats-reset', schemaVersion: 1, data: { protonId: null, startTime: null, endTime: null } },
    ],
    result: { accepted: true, message: 'Artifact promoted.' },
  };
}
