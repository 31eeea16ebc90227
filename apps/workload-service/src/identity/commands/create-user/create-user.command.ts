import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class CreateUserCommand extends EnvelopeCommand<'CreateUser'> {}
