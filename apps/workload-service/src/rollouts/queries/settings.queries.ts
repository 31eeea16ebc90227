import { Inject, Injectable } from '@nestjs/common';
import { Actor, DomainError, isDomainError, ReplacementDto, RuntimeSettings } from '@wcp/contracts';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { RUNTIME_DRIVER, RuntimeDriver } from '../../runtime';
import { visibleWorkload } from '../../workloads/queries/workload.queries';
import { replacementNotFound } from '../domain/replacement.decider';
import { REPLACEMENTS, ReplacementDoc, renderReplacement } from '../projections/replacement.projection';

/** Settings, the current replacement and the history of a workload (spec §3), for readers with the details permission. */
@Injectable()
export class SettingsQueries {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore, @Inject(RUNTIME_DRIVER) private readonly driver: RuntimeDriver) {}

  async get(workloadId: string, actor: Actor): Promise<{ runtime: RuntimeSettings; replacement: ReplacementDto | null } | DomainError> {
    const workload = await visibleWorkload(this.store, workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(workload)) return workload;
    const held = workload.replacementLock ? await this.store.get<ReplacementDoc>(REPLACEMENTS, workload.replacementLock) : null;
    return { runtime: workload.runtime, replacement: held ? this.render(held) : null };
  }

  /** The replacement in progress, or the last one if it did not complete (until the next one starts). */
  async current(workloadId: string, actor: Actor): Promise<ReplacementDto | DomainError> {
    const workload = await visibleWorkload(this.store, workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(workload)) return workload;
    const latest = await this.latest(workloadId);
    if (!latest || (!latest.open && latest.state.status === 'completed')) return replacementNotFound();
    return this.render(latest);
  }

  async history(workloadId: string, actor: Actor, offset: number, limit: number): Promise<{ totalCount: number; data: ReplacementDto[] } | DomainError> {
    const workload = await visibleWorkload(this.store, workloadId, actor, 'CAN_READ_DETAILS');
    if (isDomainError(workload)) return workload;
    const [totalCount, docs] = await Promise.all([
      this.store.count(REPLACEMENTS, { workloadId }),
      this.store.find<ReplacementDoc>(REPLACEMENTS, { workloadId }, { sort: [['createdAt', -1], ['_id', -1]], skip: offset, limit }),
    ]);
    return { totalCount, data: docs.map((d) => this.render(d)) };
  }

  private async latest(workloadId: string): Promise<ReplacementDoc | null> {
    const [doc] = await this.store.find<ReplacementDoc>(REPLACEMENTS, { workloadId }, { sort: [['createdAt', -1], ['_id', -1]], limit: 1 });
    return doc ?? null;
  }

  private render(doc: ReplacementDoc): ReplacementDto {
    const s = doc.state;
    return renderReplacement(doc, {
      candidate: this.driver.readyEndpoints(s.candidateProtonId).length,
      previous: s.previousProtonId ? this.driver.readyEndpoints(s.previousProtonId).length : 0,
    });
  }
}
