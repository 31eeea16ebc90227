import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class StopWorkloadCommand extends EnvelopeCommand<'StopWorkload'> {}
