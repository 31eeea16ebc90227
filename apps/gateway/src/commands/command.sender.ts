import { Inject, Injectable } from '@nestjs/common';
import { Actor, CommandBody, CommandEnvelope, CommandResult } from '@wcp/contracts';
import { ReplyTimeoutError, RequestReplyClient } from '@wcp/messaging';
import { createHash, randomUUID } from 'node:crypto';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError, fromDomainError } from '../http/api-error';

export const COMMAND_CLIENT = Symbol('COMMAND_CLIENT');

/**
 * Sends a command keyed by its aggregate and waits (bounded) for the service's answer, so the
 * aggregate's refusals still reach the caller synchronously. An `Idempotency-Key` header from
 * the client becomes the command id: retrying a request with the same key applies it once.
 */
@Injectable()
export class CommandSender {
  constructor(@Inject(COMMAND_CLIENT) private readonly client: RequestReplyClient, @Inject(CONFIG) private readonly config: GatewayConfig) {}

  async send<T>(key: string, command: CommandBody, actor: Actor, idempotencyKey?: string): Promise<T> {
    const commandId = idempotencyKey
      ? createHash('sha256').update(`${actor.id}\u0000${command.name}\u0000${key}\u0000${idempotencyKey}`).digest('hex').slice(0, 32)
      : randomUUID();
    const envelope: CommandEnvelope = {
      type: 'command',
      schemaVersion: 1,
      commandId,
      correlationId: randomUUID(),
      key,
      actor,
      issuedAt: new Date().toISOString(),
      command,
    };
    let result: CommandResult;
    try {
      result = await this.client.request<CommandResult>(key, envelope.correlationId, envelope, this.config.COMMAND_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof ReplyTimeoutError) {
        throw new ApiError(
          504,
          `The workload service did not answer within ${this.config.COMMAND_TIMEOUT_MS} ms. The command (id ${commandId}) may still be applied, exactly once; check the resource before retrying.`,
        );
      }
      throw new ApiError(503, `Cannot reach the message bus: ${error instanceof Error ? error.message : error}`);
    }
    if (!result.outcome.ok) throw fromDomainError(result.outcome.error);
    return result.outcome.value as T;
  }
}
