import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class CreateWorkloadCommand extends EnvelopeCommand<'CreateWorkload'> {}
