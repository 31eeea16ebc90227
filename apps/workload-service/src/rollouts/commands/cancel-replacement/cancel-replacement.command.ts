import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class CancelReplacementCommand extends EnvelopeCommand<'CancelReplacement'> {}
