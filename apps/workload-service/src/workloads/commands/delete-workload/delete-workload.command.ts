import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class DeleteWorkloadCommand extends EnvelopeCommand<'DeleteWorkload'> {}
