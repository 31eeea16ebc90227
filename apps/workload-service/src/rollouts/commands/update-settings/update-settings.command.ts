import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class UpdateSettingsCommand extends EnvelopeCommand<'UpdateSettings'> {}
