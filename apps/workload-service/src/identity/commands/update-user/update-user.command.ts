import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class UpdateUserCommand extends EnvelopeCommand<'UpdateUser'> {}
