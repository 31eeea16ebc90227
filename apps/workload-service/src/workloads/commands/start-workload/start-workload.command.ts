import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class StartWorkloadCommand extends EnvelopeCommand<'StartWorkload'> {}
