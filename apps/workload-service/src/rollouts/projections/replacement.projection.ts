import { Inject, Injectable } from '@nestjs/common';
import type { ReplacementDto } from '@wcp/contracts';
import type { Projection } from '../../event-store/commit.pipeline';
import type { StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { PROTONS, ProtonDoc } from '../../workloads/projections/proton.projection';
import { WORKLOADS, WorkloadDoc } from '../../workloads/projections/workload.projection';
import { evolveReplacement, initialReplacementState, isOver, PresentReplacement, ReplacementState } from '../domain/replacement.decider';
import type { ReplacementEvent } from '../domain/replacement.events';

/**
 * One document per replacement: the folded state (for the saga's boot scan and the route
 * table) and what the API shows. Also keeps the workload's `replacement` summary and the
 * candidate proton's document in step.
 */
export interface ReplacementDoc {
  _id: string;
  workloadId: string;
  createdAt: string;
  /** In progress (not over): the saga resumes these at boot. */
  open: boolean;
  state: PresentReplacement;
  v: number;
  [key: string]: unknown;
}

export const REPLACEMENTS = 'replacements';

@Injectable()
export class ReplacementProjection implements Projection {
  readonly collections = [REPLACEMENTS];

  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async init(): Promise<void> {
    await this.store.ensureIndexes(REPLACEMENTS, [{ workloadId: 1, createdAt: -1 }, { open: 1 }]);
  }

  async apply(stored: StoredEvent): Promise<void> {
    if (!stored.streamId.startsWith('replacement-')) return;
    const id = stored.streamId.slice('replacement-'.length);
    const existing = await this.store.get<ReplacementDoc>(REPLACEMENTS, id);
    if (existing && stored.version <= existing.v) return;
    const before: ReplacementState = existing?.state ?? initialReplacementState;
    const state = evolveReplacement(before, stored as unknown as ReplacementEvent & { occurredAt: string });
    if (state.kind !== 'present') return;
    await this.store.put(REPLACEMENTS, { _id: id, workloadId: state.workloadId, createdAt: state.createdAt, open: !isOver(state), state, v: stored.version });
    const event = stored as unknown as ReplacementEvent;
    if (event.type === 'replacement.started') {
      const workload = await this.store.get<WorkloadDoc>(WORKLOADS, state.workloadId);
      if (workload && state.status !== 'completed' && !(await this.store.get(PROTONS, state.candidateProtonId))) {
        const count = await this.store.count(PROTONS, { workloadId: state.workloadId });
        const doc: ProtonDoc = {
          _id: state.candidateProtonId,
          name: `${workload.name}-p${count + 1}`,
          workloadId: state.workloadId,
          artifactId: state.candidateArtifactId,
          status: 'initializing',
          role: 'candidate',
          runtime: state.runtime,
          runningSince: null,
          createdAt: stored.occurredAt,
          updatedAt: stored.occurredAt,
        };
        await this.store.put(PROTONS, doc);
      }
    }
    // The workload clears it when it takes the candidate over (its own replacement-finished event).
    if (workloadSummaryChanged(before, state)) await this.store.setWhere(WORKLOADS, { _id: state.workloadId }, { replacement: summary(state) });
    await this.updateCandidate(state, stored.occurredAt);
  }

  /** The candidate proton's status follows the rollout until it takes over or goes. */
  private async updateCandidate(s: PresentReplacement, at: string): Promise<void> {
    const proton = await this.store.get<ProtonDoc>(PROTONS, s.candidateProtonId);
    if (!proton || proton.role === 'active') return;
    const status: ProtonDoc['status'] = s.rolledBack
      ? 'stopped'
      : s.phase === 'rollback'
        ? 'draining'
        : s.status === 'initializing' || s.status === 'submitted'
          ? 'initializing'
          : s.strategy === 'blueGreen' && s.status === 'staged'
            ? 'warming'
            : 'running';
    if (proton.status === status && !(s.rolledBack && proton.role !== null)) return;
    await this.store.put(PROTONS, {
      ...proton,
      status,
      role: s.rolledBack ? null : proton.role,
      runningSince: status === 'running' || status === 'warming' ? (proton.runningSince ?? at) : proton.runningSince,
      updatedAt: at,
    });
  }
}

function workloadSummaryChanged(before: ReplacementState, after: PresentReplacement): boolean {
  return before.kind !== 'present' || before.status !== after.status || before.candidatePercent !== after.candidatePercent || isOver(before) !== isOver(after);
}

/** The `replacement` field of a workload: the one in progress, or the last one that did not complete. */
function summary(s: PresentReplacement) {
  return { id: s.id, status: s.status, strategy: s.strategy, candidateArtifactId: s.candidateArtifactId, candidateProtonIds: [s.candidateProtonId], message: s.message, updatedAt: s.updatedAt };
}

/** The Replacement resource of the API. */
export function renderReplacement(doc: ReplacementDoc, readiness: { candidate: number; previous: number } = { candidate: 0, previous: 0 }): ReplacementDto {
  const s = doc.state;
  return {
    id: s.id,
    workloadId: s.workloadId,
    candidateArtifactId: s.candidateArtifactId,
    candidateProtonIds: [s.candidateProtonId],
    previousProtonIds: s.previousProtonId ? [s.previousProtonId] : [],
    status: s.status,
    strategy: s.strategy,
    config: s.config,
    runtime: s.runtime,
    message: s.message,
    switchedAt: s.switchedAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    userId: s.userId,
    progress: {
      step: s.step,
      candidateTrafficPercent: s.strategy === 'rolling' ? (s.switchedAt ? 100 : 0) : s.candidatePercent,
      candidateReadyReplicas: readiness.candidate,
      previousReadyReplicas: readiness.previous,
    },
  };
}
