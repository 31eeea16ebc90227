import type { Actor, CommandBody, CommandEnvelope, CommandName, CommandOutcome, DomainError } from '@wcp/contracts';

/** Base of the CQRS command classes: each carries its validated envelope. */
export abstract class EnvelopeCommand<N extends CommandName> {
  constructor(readonly envelope: Omit<CommandEnvelope, 'command'> & { command: Extract<CommandBody, { name: N }> }) {}

  /**
   * When the service handles the command: event times come from the service that appends them
   * (one clock per stream), not from the gateway that sent the command.
   */
  readonly now = new Date().toISOString();

  get actor(): Actor {
    return this.envelope.actor;
  }

  get body(): Extract<CommandBody, { name: N }> {
    return this.envelope.command;
  }
}

export const success = (value: unknown): CommandOutcome => ({ ok: true, value });
export const failure = (error: DomainError): CommandOutcome => ({ ok: false, error });
