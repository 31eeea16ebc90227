import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome, DomainError, newId } from '@wcp/contracts';
import { CONFIG, WorkloadServiceConfig } from '../../../config';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { decideStart, evolveWorkload, initialWorkloadState, type WorkloadState } from '../../domain/workload.decider';
import { holdingOf } from '../../domain/runtime-capacity';
import { CapacityLedger, withReservation } from '../../capacity/capacity-ledger.service';
import { countActiveWorkloadsOfOwner } from '../../queries/owner-capacity.query';
import { StartWorkloadCommand } from './start-workload.command';

/**
 * Start: 202 when accepted, 200 when already running or starting, 403 past the per-owner limit
 * or the runtime's capacity (nothing is written then: the workload stays stopped).
 */
@CommandHandler(StartWorkloadCommand)
export class StartWorkloadHandler implements ICommandHandler<StartWorkloadCommand, CommandOutcome> {
  constructor(
    private readonly repository: AggregateRepository,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    private readonly ledger: CapacityLedger,
  ) {}

  async execute(command: StartWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const streamId = `workload-${workloadId}`;
    const commitId = command.envelope.commandId;
    const current = await this.repository.load(streamId, initialWorkloadState, evolveWorkload);
    const activeWorkloadsOfOwner = current.kind === 'active' ? await countActiveWorkloadsOfOwner(this.readModels, current.creatorId, workloadId) : 0;
    const context = { activeWorkloadsOfOwner, maxActiveWorkloadsPerOwner: this.config.MAX_ACTIVE_WORKLOADS_PER_OWNER };
    const decide = (state: WorkloadState) => decideStart(state, command.actor, workloadId, context, newId());
    const execute = () => this.repository.execute({ streamId, initial: initialWorkloadState, evolve: evolveWorkload, commitId, actor: command.actor, now: command.now, decide });
    // Only a start that would happen reserves capacity: not a refused one, not the no-op of a running workload.
    const dryRun = decide(current);
    if (current.kind !== 'active' || 'code' in dryRun || dryRun.events.length === 0) return answer(await execute());
    const outcome = await withReservation(
      this.ledger,
      { workloadId, holding: holdingOf(current.runtime), previous: null, actor: command.actor, now: command.now, alreadyAdmitted: () => this.repository.isCommitted(commitId, streamId) },
      execute,
    );
    return answer(outcome);
  }
}

function answer(outcome: { ok: true; result: { accepted: boolean; message: string } } | { ok: false; error: DomainError }): CommandOutcome {
  return outcome.ok ? success(outcome.result) : failure(outcome.error);
}
