import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class CreateOrgCommand extends EnvelopeCommand<'CreateOrg'> {}
