import { EnvelopeCommand } from '../../../messaging/envelope.command';

export class PromoteArtifactCommand extends EnvelopeCommand<'PromoteArtifact'> {}
