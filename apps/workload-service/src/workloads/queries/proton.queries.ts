import { Inject, Injectable } from '@nestjs/common';
import { Actor, DomainError, domainError, isDomainError } from '@wcp/contracts';
import { Filter, READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { ProtonSnapshot, RUNTIME_DRIVER, RuntimeDriver } from '../../runtime';
import { REPLACEMENTS, ReplacementDoc } from '../../rollouts/projections/replacement.projection';
import { PROTONS, ProtonDoc } from '../projections/proton.projection';
import { autoscalingOf, replicasOf } from '../domain/proton-spec';

/** Workload statuses whose replicas get no traffic, whatever the runtime still runs. */
const NOT_SERVING = new Set<string>(['stopping', 'stopped', 'terminated']);
import { visibleWorkload } from './workload.queries';

export interface ProtonDto {
  id: string;
  name: string;
  workloadId: string;
  artifactId: string;
  status: string;
  role: 'active' | 'candidate' | null;
  runtime: ProtonDoc['runtime'];
  endpoint: string;
  runningSince: string | null;
  createdAt: string;
  updatedAt: string;
  /** This project's addition (docs/autoscaling.md): the replica count wanted, the ready ones, and why (the autoscaler's last reason). */
  replicas: ReplicaCounts;
}

export interface ReplicaCounts {
  desired: number;
  ready: number;
  reason: string | null;
}

type Route = { replica: string; url: string; protonId: string };

/**
 * The data plane's route table: ready replicas of the active proton, and during a replacement
 * what the rollout routes — both protons' replicas mixed (rolling), or a weighted `candidate`
 * share (canary, blue/green).
 */
export interface ReplicaRoutes {
  workloadId: string;
  protonId: string | null;
  replicas: Route[];
  candidate: { protonId: string; percent: number; replicas: Route[] } | null;
  /** The active proton is autoscaled to zero, or coming up from zero with no ready replica: the data plane may hold requests. */
  standby?: true;
}

/** Protons of a workload, their live status details, and the data plane's routes. */
@Injectable()
export class ProtonQueries {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore, @Inject(RUNTIME_DRIVER) private readonly driver: RuntimeDriver) {}

  async list(workloadId: string, actor: Actor, offset: number, limit: number): Promise<{ totalCount: number; data: ProtonDto[] } | DomainError> {
    const workload = await visibleWorkload(this.store, workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(workload)) return workload;
    const filter: Filter = { $and: [{ workloadId }, { role: { $in: ['active', 'candidate'] } }] };
    const [totalCount, docs] = await Promise.all([
      this.store.count(PROTONS, filter),
      this.store.find<ProtonDoc>(PROTONS, filter, { sort: [['createdAt', -1], ['_id', -1]], skip: offset, limit }),
    ]);
    return { totalCount, data: docs.map((d) => this.render(d)) };
  }

  async get(workloadId: string, protonId: string, actor: Actor): Promise<ProtonDto | DomainError> {
    const proton = await this.proton(workloadId, protonId, actor);
    return isDomainError(proton) ? proton : this.render(proton);
  }

  /** The live snapshot, or null (answered 204) until the runtime has one. */
  async statusDetails(workloadId: string, protonId: string, actor: Actor): Promise<{ snapshot: (ProtonSnapshot & { scale: ReplicaCounts }) | null } | DomainError> {
    const proton = await this.proton(workloadId, protonId, actor);
    if (isDomainError(proton)) return proton;
    const snapshot = this.driver.snapshot(protonId);
    if (!snapshot) return { snapshot: null };
    const scale = this.counts(proton);
    // A proton scaled to zero is running with no replica: say why there is none.
    const overallStatus = scale.desired === 0 && scale.ready === 0 && snapshot.overallStatus.state === 'running' ? { ...snapshot.overallStatus, summary: scale.reason ?? 'scaled to zero' } : snapshot.overallStatus;
    return { snapshot: { ...snapshot, overallStatus, scale } };
  }

  /** Ready replicas of the active proton (or `protonId`), for callers allowed to invoke. */
  async routes(workloadId: string, protonId: string | null, actor: Actor): Promise<ReplicaRoutes | DomainError> {
    const workload = await visibleWorkload(this.store, workloadId, actor, 'CAN_INVOKE');
    if (isDomainError(workload)) return workload;
    // From the moment a stop is accepted nothing is routed: the replicas are going away (503, not 502).
    if (NOT_SERVING.has(workload.status)) return { workloadId, protonId: workload.protonId, replicas: [], candidate: null };
    if (protonId) {
      if (!(await this.store.get<ProtonDoc>(PROTONS, protonId))) {
        return domainError('not_found', 'PROTON_NOT_FOUND', `Proton ${protonId} of workload ${workloadId} was not found.`);
      }
      return { workloadId, protonId, replicas: this.ready(protonId), candidate: null };
    }
    const summary = workload.replacement as { id: string } | null;
    const rollout = summary ? (await this.store.get<ReplacementDoc>(REPLACEMENTS, summary.id))?.state : undefined;
    const active = workload.protonId;
    if (!rollout || rollout.rolledBack || rollout.previousProtonId !== active) {
      const proton = active ? await this.store.get<ProtonDoc>(PROTONS, active) : null;
      // After a scale-down the surplus replicas (the highest indexes) drain before they stop.
      const replicas = active ? this.ready(active, proton?.scale?.desired) : [];
      const standby = replicas.length === 0 && active !== null && workload.status === 'running' && isStandby(proton);
      return { workloadId, protonId: active, replicas, candidate: null, ...(standby ? { standby: true as const } : {}) };
    }
    // Completed, and the workload has not switched over yet: the candidate is the proton now.
    if (rollout.status === 'completed') return { workloadId, protonId: rollout.candidateProtonId, replicas: this.ready(rollout.candidateProtonId), candidate: null };
    const previous = active ? this.ready(active, rollout.previousRoutable) : [];
    const candidate = this.ready(rollout.candidateProtonId);
    if (rollout.strategy === 'rolling') return { workloadId, protonId: active, replicas: [...previous, ...candidate], candidate: null };
    return { workloadId, protonId: active, replicas: previous, candidate: { protonId: rollout.candidateProtonId, percent: rollout.candidatePercent, replicas: candidate } };
  }

  private render(p: ProtonDoc): ProtonDto {
    return render(p, this.counts(p));
  }

  /** Desired: the autoscaler's last count, else the runtime's own; ready: live from the runtime. */
  private counts(p: ProtonDoc): ReplicaCounts {
    const stopped = p.status === 'stopped' || p.status === 'terminated' || p.role === null;
    return {
      desired: stopped ? 0 : (p.scale?.desired ?? replicasOf(p.runtime)),
      ready: this.driver.readyEndpoints(p._id).length,
      reason: stopped ? null : (p.scale?.reason ?? null),
    };
  }

  /** Ready replicas of a proton; with `routable`, only those a rollout has not retired (index below it). */
  private ready(protonId: string, routable = Number.POSITIVE_INFINITY): Route[] {
    return this.driver
      .readyEndpoints(protonId)
      .filter((e) => replicaIndex(e.replica) < routable)
      .map((e) => ({ replica: e.replica, url: e.url, protonId }));
  }

  private async proton(workloadId: string, protonId: string, actor: Actor): Promise<ProtonDoc | DomainError> {
    const workload = await visibleWorkload(this.store, workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(workload)) return workload;
    const proton = await this.store.get<ProtonDoc>(PROTONS, protonId);
    if (!proton || proton.workloadId !== workloadId) return domainError('not_found', 'PROTON_NOT_FOUND', `Proton ${protonId} of workload ${workloadId} was not found.`);
    return proton;
  }
}

/** Replica names end in their index (`<protonId>-<n>`). */
function replicaIndex(name: string): number {
  return Number(name.slice(name.lastIndexOf('-') + 1));
}

/** Scaled to zero, or scaled up from zero (until a replica is ready, which the caller checks). */
/**
 * Asked of a running workload's active proton with no ready replica: a proton that scales to
 * zero is then at zero or on its way up from it. Not only while the last Proton Scaled says
 * `from-zero`: a cold start is a panic, so a second step (e.g. 1 → 2, mode `panic`) can come
 * before the first replica is ready, and the requests held meanwhile must stay held.
 */
function isStandby(proton: ProtonDoc | null): boolean {
  return !!proton && (proton.scale?.desired === 0 || autoscalingOf(proton.runtime)?.minReplicaCount === 0);
}

function render(p: ProtonDoc, replicas: ReplicaCounts): ProtonDto {
  return {
    id: p._id,
    name: p.name,
    workloadId: p.workloadId,
    artifactId: p.artifactId,
    status: p.status,
    role: p.role,
    runtime: p.runtime,
    endpoint: `/api/v2/endpoints/workloads/${p.workloadId}/?protonId=${p._id}`,
    runningSince: p.runningSince,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    replicas,
  };
}
