import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class CreateArtifactCommand extends EnvelopeCommand<'CreateArtifact'> {}
