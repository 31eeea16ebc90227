import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class UpdateSharedRolesCommand extends EnvelopeCommand<'UpdateSharedRoles'> {}
