import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CommandEnvelope, CommandOutcome, CommandResult, Topics } from '@wcp/contracts';
import { BusMessage, HandlerOutcome, MESSAGE_BUS, MessageBus, oneByOne, Subscription } from '@wcp/messaging';
import { CONFIG, WorkloadServiceConfig } from '../config';
import { CreateArtifactCommand } from '../artifacts/commands/create-artifact/create-artifact.command';
import { DeleteArtifactCommand } from '../artifacts/commands/delete-artifact/delete-artifact.command';
import { UpdateArtifactCommand } from '../artifacts/commands/update-artifact/update-artifact.command';
import { CreateGroupCommand } from '../identity/commands/create-group/create-group.command';
import { CreateOrgCommand } from '../identity/commands/create-org/create-org.command';
import { CreateUserCommand } from '../identity/commands/create-user/create-user.command';
import { UpdateUserCommand } from '../identity/commands/update-user/update-user.command';
import { CreateWorkloadCommand } from '../workloads/commands/create-workload/create-workload.command';
import { DeleteWorkloadCommand } from '../workloads/commands/delete-workload/delete-workload.command';
import { StartWorkloadCommand } from '../workloads/commands/start-workload/start-workload.command';
import { ResetStatsCommand } from '../workloads/commands/reset-stats/reset-stats.command';
import { StopWorkloadCommand } from '../workloads/commands/stop-workload/stop-workload.command';
import { UpdateSharedRolesCommand } from '../workloads/commands/update-shared-roles/update-shared-roles.command';
import { UpdateWorkloadCommand } from '../workloads/commands/update-workload/update-workload.command';
import { CancelReplacementCommand } from '../rollouts/commands/cancel-replacement/cancel-replacement.command';
import { PromoteArtifactCommand } from '../rollouts/commands/promote-artifact/promote-artifact.command';
import { ResumeReplacementCommand } from '../rollouts/commands/resume-replacement/resume-replacement.command';
import { StartReplacementCommand } from '../rollouts/commands/start-replacement/start-replacement.command';
import { UpdateSettingsCommand } from '../rollouts/commands/update-settings/update-settings.command';

const COMMANDS = {
  CreateWorkload: CreateWorkloadCommand,
  UpdateWorkload: UpdateWorkloadCommand,
  DeleteWorkload: DeleteWorkloadCommand,
  StartWorkload: StartWorkloadCommand,
  StopWorkload: StopWorkloadCommand,
  ResetStats: ResetStatsCommand,
  UpdateSettings: UpdateSettingsCommand,
  StartReplacement: StartReplacementCommand,
  CancelReplacement: CancelReplacementCommand,
  ResumeReplacement: ResumeReplacementCommand,
  PromoteArtifact: PromoteArtifactCommand,
  UpdateSharedRoles: UpdateSharedRolesCommand,
  CreateArtifact: CreateArtifactCommand,
  UpdateArtifact: UpdateArtifactCommand,
  DeleteArtifact: DeleteArtifactCommand,
  CreateUser: CreateUserCommand,
  UpdateUser: UpdateUserCommand,
  CreateGroup: CreateGroupCommand,
  CreateOrg: CreateOrgCommand,
} as const;

export const COMMANDS_GROUP = 'workload-service.commands';

/**
 * Consumes `workload.commands.v1`, runs each command through the CQRS command bus and replies
 * on `workload.command-results.v1`. Steps:
 * 1. unreadable or invalid envelope → dead-letter (with the reason), never blocks the partition;
 * 2. a refusal is a value (`ok: false`) and is replied like a success;
 * 3. a thrown error is an outage or a bug → retry with back-off, offset not committed;
 * 4. the offset is committed after the reply is published; a crash before that redelivers the
 *    command, which the event store recognises by its id and answers with the first outcome.
 */
@Injectable()
export class CommandConsumer {
  private readonly logger = new Logger('CommandConsumer');
  private subscription: Subscription | null = null;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly commandBus: CommandBus,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
  ) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      topic: Topics.commands,
      groupId: COMMANDS_GROUP,
      fromBeginning: true,
      concurrency: this.config.COMMAND_CONCURRENCY,
      handleBatch: oneByOne((m) => this.handle(m)),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  async handle(message: BusMessage): Promise<HandlerOutcome> {
    const parsed = CommandEnvelope.safeParse(message.value);
    if (!parsed.success) {
      const reason = `invalid command envelope: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.logger.warn(`dead-lettering ${message.partition}:${message.offset}: ${reason}`);
      return { kind: 'dead-letter', reason };
    }
    const envelope = parsed.data;
    const CommandClass = COMMANDS[envelope.command.name];
    const started = Date.now();
    const outcome = await this.commandBus.execute<InstanceType<typeof CommandClass>, CommandOutcome>(new CommandClass(envelope as never));
    const result: CommandResult = {
      type: 'command-result',
      schemaVersion: 1,
      commandId: envelope.commandId,
      correlationId: envelope.correlationId,
      duplicate: false,
      outcome,
    };
    await this.bus.publish(Topics.commandResults, [{ key: envelope.correlationId, value: result }]);
    this.logger.debug(`${envelope.command.name} ${envelope.commandId} → ${outcome.ok ? 'ok' : outcome.error.code} in ${Date.now() - started} ms`);
    return { kind: 'ok' };
  }
}
