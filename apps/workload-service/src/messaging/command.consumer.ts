import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { performance } from 'node:perf_hooks';
import { CommandEnvelope, CommandOutcome, CommandResult, domainError, Topics } from '@wcp/contracts';
import { logFieldsFromHeaders, withLogFields } from '@wcp/logging';
import { BusMessage, HandlerOutcome, MESSAGE_BUS, MessageBus, processTraced, Subscription } from '@wcp/messaging';
import { RuntimePlacement } from '../placement/runtime-placement';
import { CONFIG, WorkloadServiceConfig } from '../config';
import { commitOrdered } from '../event-store/commit.pipeline';
import { EVENT_STORE, EventStore } from '../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { IdempotencyKeyStore } from './idempotency-key.store';
import { commandDuration, commandsHandled } from './service.metrics';
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

/**
 * Commands whose handler appends one commit, to their own aggregate's stream, and nothing after
 * it: the next command of that aggregate may start as soon as that commit is ordered (see
 * `commitOrdered`). Others (several appends, or other streams) are awaited to their outcome.
 */
const ONE_APPEND = new Set<keyof typeof COMMANDS>(['UpdateWorkload', 'StartWorkload', 'StopWorkload', 'ResetStats', 'UpdateSharedRoles', 'UpdateUser']);

export const COMMANDS_GROUP = 'workload-service.commands';

/**
 * Consumes `workload.commands.v1`, runs each command through the CQRS command bus and replies
 * on `workload.command-results.v1`. Steps, per partition batch:
 * 1. unreadable or invalid envelope → dead-letter (with the reason), never blocks the partition;
 * 2. commands are grouped by key (the aggregate): groups run concurrently, up to
 *    COMMAND_BATCH_CONCURRENCY, each in partition order, so their appends, projections and
 *    replies are coalesced by the stores and the bus (group commit) while one workload's
 *    commands stay ordered: the next command of a workload starts once the previous one's
 *    outcome is known (its reply is published meanwhile), or for a one-append command once its
 *    commit is ordered for projection (it is projected and answered meanwhile);
 * 3. a refusal is a value (`ok: false`) and is replied like a success; a conflict or a refusal
 *    fails only its own command;
 * 4. a thrown error is retried with back-off, the offset not committed: while the stores are
 *    down, for as long as they are down; with the stores up, COMMAND_MAX_ATTEMPTS times, then
 *    the command is a poison message: dead-lettered with the reason, answered `internal` (500
 *    with the command id), and the partition moves on;
 * 5. the offset is committed after the reply is published; a crash before that redelivers the
 *    command, which the event store recognises by its id and answers with the first outcome.
 * Before 2, a command sent under an Idempotency-Key claims the key for its request; a key held
 * for another request refuses the command (422) without running it.
 */
@Injectable()
export class CommandConsumer {
  private readonly logger = new Logger('CommandConsumer');
  private subscription: Subscription | null = null;
  /** Failed attempts per message (`partition:offset`), for the poison-message bound. */
  private readonly attempts = new Map<string, number>();
  private deadLettered = 0;
  private openGate!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.openGate = resolve));

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly commandBus: CommandBus,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    private readonly idempotencyKeys: IdempotencyKeyStore,
    private readonly placement: RuntimePlacement,
  ) {}

  async start(): Promise<void> {
    await this.join();
    this.open();
  }

  /**
   * Joins the consumer group without handling anything yet: resolves once this instance knows
   * its partitions (RuntimePlacement), so boot can recover the runtime of the workloads it owns
   * before their commands run. Batches fetched meanwhile wait for `open`.
   */
  async join(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      topic: Topics.commands,
      groupId: COMMANDS_GROUP,
      fromBeginning: true,
      concurrency: this.config.COMMAND_CONCURRENCY,
      handleBatch: async (messages) => {
        await this.opened;
        return this.handleBatch(messages);
      },
      onAssignment: (assignment) => this.placement.assign(assignment),
    });
  }

  open(): void {
    this.openGate();
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  /** Commands dead-lettered since start, for `/health`. */
  get deadLetters(): number {
    return this.deadLettered;
  }

  async handleBatch(messages: BusMessage[]): Promise<HandlerOutcome[]> {
    const outcomes: HandlerOutcome[] = new Array(messages.length);
    const groups = new Map<string, number[]>();
    messages.forEach((m, i) => groups.set(m.key, [...(groups.get(m.key) ?? []), i]));
    const queue = [...groups.values()];
    const finishing: Array<Promise<unknown>> = [];
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        let retrying = false;
        for (const i of group) {
          // After a retry in its group, later commands of the same aggregate wait for it (a
          // later one that already ran is re-run with it, and answers its first result).
          if (retrying) {
            outcomes[i] = { kind: 'retry', reason: 'an earlier command of this aggregate is being retried' };
            continue;
          }
          let ready!: () => void;
          const next = new Promise<void>((resolve) => (ready = resolve));
          const done = this.handle(messages[i], ready).then((outcome) => (outcomes[i] = outcome));
          finishing.push(done);
          await Promise.race([next, done]);
          retrying = outcomes[i]?.kind === 'retry';
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.config.COMMAND_BATCH_CONCURRENCY) }, worker));
    await Promise.all(finishing);
    return outcomes;
  }

  /**
   * Runs one command and publishes its reply; `ready` is called once the next command of its
   * aggregate may start. Everything logged meanwhile carries the ids the gateway put in the
   * headers (request, command, workload), and the work is a span of the gateway's trace.
   */
  handle(message: BusMessage, ready: () => void = () => undefined): Promise<HandlerOutcome> {
    const fields = logFieldsFromHeaders(message.headers);
    return withLogFields(fields, () => processTraced(message, { 'wcp.command.id': fields.commandId ?? '', 'wcp.command.name': fields.command ?? '' }, () => this.handleNow(message, ready)));
  }

  private async handleNow(message: BusMessage, ready: () => void): Promise<HandlerOutcome> {
    const started = performance.now();
    const seen = { command: 'unknown', outcome: 'invalid' };
    const handled = await this.run(message, ready, seen);
    const outcome = handled.kind === 'retry' ? 'retry' : handled.kind === 'dead-letter' && seen.command !== 'unknown' ? 'dead_letter' : seen.outcome;
    commandsHandled.inc({ command: seen.command, outcome });
    commandDuration.observe({ command: seen.command, outcome }, (performance.now() - started) / 1000);
    return handled;
  }

  /** `seen` learns the command's name and its domain outcome, for the metrics. */
  private async run(message: BusMessage, ready: () => void, seen: { command: string; outcome: string }): Promise<HandlerOutcome> {
    const parsed = CommandEnvelope.safeParse(message.value);
    if (!parsed.success) {
      const reason = `invalid command envelope: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.logger.warn(`dead-lettering ${message.partition}:${message.offset}: ${reason}`);
      this.deadLettered += 1;
      return { kind: 'dead-letter', reason };
    }
    const envelope = parsed.data;
    seen.command = envelope.command.name;
    // From the envelope too: a command sent without the headers (an older gateway, a replay) still logs its ids.
    return withLogFields(
      { commandId: envelope.commandId, command: envelope.command.name, ...('workloadId' in envelope.command ? { workloadId: envelope.command.workloadId } : {}) },
      () => this.runCommand(envelope, message, ready, seen),
    );
  }

  private async runCommand(envelope: CommandEnvelope, message: BusMessage, ready: () => void, seen: { command: string; outcome: string }): Promise<HandlerOutcome> {
    const CommandClass = COMMANDS[envelope.command.name];
    const started = Date.now();
    const where = `${message.partition}:${message.offset}`;
    let outcome: CommandOutcome;
    let poison: string | null = null;
    try {
      const refusal = envelope.idempotency ? await this.idempotencyKeys.claim(envelope.idempotency, envelope.commandId, new Date().toISOString()) : null;
      const execute = () => this.commandBus.execute<InstanceType<typeof CommandClass>, CommandOutcome>(new CommandClass(envelope as never));
      outcome = refusal ? { ok: false, error: refusal } : await (ONE_APPEND.has(envelope.command.name) ? commitOrdered.run(ready, execute) : execute());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const attempt = (this.attempts.get(where) ?? 0) + 1;
      const storesUp = (await Promise.all([this.eventStore.ping(), this.readModels.ping()])).every(Boolean);
      // An outage is waited out without counting: only a command that fails on healthy stores is poison.
      if (!storesUp || attempt < this.config.COMMAND_MAX_ATTEMPTS) {
        if (storesUp) this.attempts.set(where, attempt);
        return { kind: 'retry', reason: `${envelope.command.name} ${envelope.commandId}: ${reason}` };
      }
      this.logger.error(`${envelope.command.name} ${envelope.commandId} failed ${attempt} times on healthy stores; dead-lettering it: ${reason}`);
      poison = `failed ${attempt} times: ${reason}`;
      outcome = { ok: false, error: domainError('internal', 'COMMAND_FAILED', `Command ${envelope.commandId} failed and was set aside for an operator (${reason.slice(0, 200)}).`) };
    }
    this.attempts.delete(where);
    seen.outcome = outcome.ok ? 'ok' : outcome.error.kind;
    ready();
    const result: CommandResult = {
      type: 'command-result',
      schemaVersion: 1,
      commandId: envelope.commandId,
      correlationId: envelope.correlationId,
      duplicate: false,
      outcome,
    };
    await this.bus.publish(Topics.commandResults, [{ key: envelope.correlationId, value: result }]);
    this.logger.log({ msg: `${envelope.command.name} → ${outcome.ok ? 'ok' : outcome.error.code}`, outcome: outcome.ok ? 'ok' : outcome.error.code, ms: Date.now() - started, at: where });
    if (poison) {
      this.deadLettered += 1;
      return { kind: 'dead-letter', reason: poison };
    }
    return { kind: 'ok' };
  }
}
