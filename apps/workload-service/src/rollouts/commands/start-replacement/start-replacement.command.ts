import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class StartReplacementCommand extends EnvelopeCommand<'StartReplacement'> {}
