import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class ResumeReplacementCommand extends EnvelopeCommand<'ResumeReplacement'> {}
