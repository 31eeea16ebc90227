import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { ARTIFACTS, ArtifactDoc } from '../../../artifacts/projections/artifact.projection';
import { CONFIG, WorkloadServiceConfig } from '../../../config';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { resolveRuntime } from '../../../workloads/domain/runtime-settings.resolver';
import { holdingOf } from '../../../workloads/domain/runtime-capacity';
import { CapacityLedger, withReservation } from '../../../workloads/capacity/capacity-ledger.service';
import { ACTIVE_STATUSES, evolveWorkload, initialWorkloadState, requireAccess } from '../../../workloads/domain/workload.decider';
import { SettingsQueries } from '../../queries/settings.queries';
import { ReplacementStarter } from '../../replacement.starter';
import { UpdateSettingsCommand } from './update-settings.command';

/**
 * `PATCH /settings`: the whole runtime, resolved against the workload's artifact, always a
 * rolling replacement on the same artifact. The same runtime again is a no-op answered with
 * the current settings (200), and starts nothing. On a running workload the new runtime must
 * fit the runtime's capacity beside the other workloads (403 otherwise, nothing started); a
 * stopped one is checked when it starts.
 */
@CommandHandler(UpdateSettingsCommand)
export class UpdateSettingsHandler implements ICommandHandler<UpdateSettingsCommand, CommandOutcome> {
  constructor(
    private readonly repository: AggregateRepository,
    private readonly starter: ReplacementStarter,
    private readonly settings: SettingsQueries,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    private readonly ledger: CapacityLedger,
  ) {}

  async execute(command: UpdateSettingsCommand): Promise<CommandOutcome> {
    const { workloadId, replacementId, candidateProtonId, input } = command.body;
    const before = await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload);
    const w = requireAccess(before, command.actor, 'CAN_UPDATE', workloadId);
    if ('code' in w) return failure(w);
    const artifact = await this.readModels.get<ArtifactDoc>(ARTIFACTS, w.artifactId);
    if (!artifact) return failure({ kind: 'not_found', code: 'ARTIFACT_NOT_FOUND', message: `Artifact ${w.artifactId} of this workload was not found.` });
    const runtime = resolveRuntime(input.runtime, artifact.spec, this.config.RESOURCE_BUNDLES);
    if ('code' in runtime) return failure(runtime);
    // A redelivered PATCH whose replacement already started answers that replacement.
    if (w.replacement?.id !== replacementId && JSON.stringify(runtime) === JSON.stringify(w.runtime)) {
      const current = await this.settings.get(workloadId, command.actor);
      return 'code' in current ? failure(current) : success({ kind: 'unchanged', settings: current });
    }
    const start = () =>
      this.starter.start(
        {
          commandId: command.envelope.commandId,
          actor: command.actor,
          now: command.now,
          workloadId,
          replacementId,
          candidateProtonId,
          origin: 'settings',
          strategy: 'rolling',
          config: undefined,
          candidateArtifactId: w.artifactId,
          runtime,
        },
        before,
      );
    // A running workload's new runtime must fit beside the others: its reservation is replaced, and put back if the replacement does not start.
    const started =
      w.replacement?.id !== replacementId && ACTIVE_STATUSES.includes(w.status)
        ? await withReservation(
            this.ledger,
            {
              workloadId,
              holding: holdingOf(runtime),
              previous: holdingOf(w.runtime),
              actor: command.actor,
              now: command.now,
              alreadyAdmitted: () => this.repository.isCommitted(command.envelope.commandId, `workload-${workloadId}`),
            },
            start,
          )
        : await start();
    return started.ok ? success({ kind: 'replacement', replacement: started.value }) : started;
  }
}
