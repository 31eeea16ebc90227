import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class UpdateWorkloadCommand extends EnvelopeCommand<'UpdateWorkload'> {}
