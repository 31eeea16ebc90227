import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class UpdateArtifactCommand extends EnvelopeCommand<'UpdateArtifact'> {}
