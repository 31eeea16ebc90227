import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class ResetStatsCommand extends EnvelopeCommand<'ResetStats'> {}
