import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class CreateGroupCommand extends EnvelopeCommand<'CreateGroup'> {}
