import { Inject, Injectable, Logger } from '@nestjs/common';
import { Actor, CommandBody, CommandEnvelope, CommandResult, newId } from '@wcp/contracts';
import { ReplyTimeoutError, RequestReplyClient } from '@wcp/messaging';
import { logFieldHeaders, LogFields, withLogFields } from '@wcp/logging';
import { counter, histogram } from '@wcp/metrics';
import { inSpan, SpanKind } from '@wcp/tracing';
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError, fromDomainError } from '../http/api-error';
import type { IdempotentRequest } from './idempotency-key';

export const COMMAND_CLIENT = Symbol('COMMAND_CLIENT');

const sent = counter('wcp_gateway_commands_total', 'Commands sent by the gateway, by command and outcome (ok, the refusal kind, timeout, bus_error).', ['command', 'outcome']);
const latency = histogram('wcp_gateway_command_duration_seconds', 'Commands from send to the workload service\'s reply (or timeout), by command and outcome.', ['command', 'outcome']);

/**
 * Sends a command keyed by its aggregate and waits (bounded) for the service's answer, so the
 * aggregate's refusals still reach the caller synchronously. An `Idempotency-Key` header from
 * the client, with the request it came with, names the command: retrying the same request with
 * the same key applies it once (the service answers the first outcome); the key is claimed in
 * the service for that request, so the key with another request is refused there (422).
 */
@Injectable()
export class CommandSender {
  private readonly logger = new Logger('CommandSender');

  constructor(@Inject(COMMAND_CLIENT) private readonly client: RequestReplyClient, @Inject(CONFIG) private readonly config: GatewayConfig) {}

  /**
   * The command id: derived from the Idempotency-Key (already scoped to the caller) and the
   * request's fingerprint when a key was sent, else random. With the fingerprint in it, a key
   * reused for another request names another command, which the key's claim then refuses.
   */
  commandId(actor: Actor, name: CommandBody['name'], idempotency?: IdempotentRequest): string {
    return idempotency ? derive(`${idempotency.keyId}\u0000${idempotency.fingerprint}`, 32) : randomUUID();
  }

  /** An id that is new for a fresh command and the same for every retry of an idempotent one. */
  idFor(commandId: string, purpose: string, idempotency?: IdempotentRequest): string {
    return idempotency ? derive(`${commandId}\u0000${purpose}`, 24) : newId();
  }

  /**
   * Sends and waits, with the command's ids bound to the log context (so this process's lines
   * about it carry them) and in the Kafka headers (so the service's lines do too), under a span
   * that covers the send and the wait for the reply.
   */
  send<T>(key: string, command: CommandBody, actor: Actor, commandId?: string, idempotency?: IdempotentRequest): Promise<T> {
    const id = commandId ?? this.commandId(actor, command.name, idempotency);
    const fields: LogFields = { commandId: id, command: command.name, ...('workloadId' in command ? { workloadId: command.workloadId } : {}) };
    return withLogFields(fields, () =>
      inSpan('@wcp/gateway', `command ${command.name}`, { kind: SpanKind.CLIENT, attributes: { 'wcp.command.id': id, 'wcp.command.name': command.name, ...(fields.workloadId ? { 'wcp.workload.id': fields.workloadId } : {}) } }, () =>
        this.sendNow<T>(key, command, actor, id, idempotency),
      ),
    );
  }

  private async sendNow<T>(key: string, command: CommandBody, actor: Actor, commandId: string, idempotency?: IdempotentRequest): Promise<T> {
    const envelope: CommandEnvelope = {
      type: 'command',
      schemaVersion: 1,
      commandId,
      correlationId: randomUUID(),
      key,
      actor,
      issuedAt: new Date().toISOString(),
      command,
      ...(idempotency ? { idempotency: { keyId: idempotency.keyId, fingerprint: idempotency.fingerprint, ttlMs: idempotency.ttlMs } } : {}),
    };
    let result: CommandResult;
    const started = performance.now();
    const observe = (outcome: string) => {
      const seconds = (performance.now() - started) / 1000;
      sent.inc({ command: command.name, outcome });
      latency.observe({ command: command.name, outcome }, seconds);
      this.logger[outcome === 'timeout' || outcome === 'bus_error' ? 'warn' : 'log']({ msg: `${command.name} answered ${outcome}`, outcome, ms: Math.round(seconds * 10_000) / 10 });
    };
    this.logger.debug({ msg: `sending ${command.name}`, correlationId: envelope.correlationId });
    try {
      result = await this.client.request<CommandResult>(key, envelope.correlationId, envelope, this.config.COMMAND_TIMEOUT_MS, logFieldHeaders());
      observe(result.outcome.ok ? 'ok' : result.outcome.error.kind);
    } catch (error) {
      observe(error instanceof ReplyTimeoutError ? 'timeout' : 'bus_error');
      if (error instanceof ReplyTimeoutError) {
        throw new ApiError(
          504,
          `The workload service did not answer within ${this.config.COMMAND_TIMEOUT_MS} ms. The command (id ${commandId}) may still be applied, exactly once; check the resource before retrying.`,
        );
      }
      throw new ApiError(503, `Cannot reach the message bus: ${error instanceof Error ? error.message : error}`);
    }
    if (!result.outcome.ok) throw fromDomainError(result.outcome.error, true);
    return result.outcome.value as T;
  }
}

function derive(input: string, hexLength: number): string {
  return createHash('sha256').update(input).digest('hex').slice(0, hexLength);
}
