import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class DeleteArtifactCommand extends EnvelopeCommand<'DeleteArtifact'> {}
