import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { DomainError, newId } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { decideScaleProton, evolveWorkload, initialWorkloadState, ProtonScaled } from '../../domain/workload.decider';
import { ScaleProtonCommand } from './scale-proton.command';

/** What the autoscaler learns: the stored change, or null when the workload saw nothing to change. */
export type ScaleProtonResult = { scaled: ProtonScaled | null; error: DomainError | null };

/**
 * Appends the decision to the workload stream through `decideScaleProton`; the LifecycleSaga
 * (active proton) or the ReplacementSaga (candidate) makes the runtime follow once it is stored.
 */
@CommandHandler(ScaleProtonCommand)
export class ScaleProtonHandler implements ICommandHandler<ScaleProtonCommand, ScaleProtonResult> {
  constructor(private readonly repository: AggregateRepository) {}

  async execute(command: ScaleProtonCommand): Promise<ScaleProtonResult> {
    const outcome = await this.repository.execute({
      streamId: `workload-${command.workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: `autoscale-${newId()}`,
      actor: null,
      now: command.now,
      decide: (state) => {
        const events = decideScaleProton(state, command.decision);
        const scaled = events[0]?.type === 'workload.proton-scaled' ? events[0].data : null;
        return { events, result: scaled };
      },
    });
    return outcome.ok ? { scaled: outcome.result, error: null } : { scaled: null, error: outcome.error };
  }
}
