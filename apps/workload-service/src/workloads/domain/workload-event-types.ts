import type { WorkloadEventType } from '@wcp/contracts';
import type { WorkloadEvent } from './workload.events';

/** The API's name and details for a stored workload event; the one mapping for the events list and the topic. */
export function toApiEvent(event: WorkloadEvent): { eventType: WorkloadEventType; details: Record<string, unknown> } {
  switch (event.type) {
    case 'workload.created':
      return { eventType: 'Workload Created', details: { name: event.data.name, artifactId: event.data.artifactId, importance: event.data.importance } };
    case 'workload.updated':
      return { eventType: 'Workload Updated', details: { changes: event.data.changes } };
    case 'workload.start-requested':
      return { eventType: 'Start Requested', details: { protonId: event.data.protonId } };
    case 'workload.replica-restarted':
      return { eventType: 'Replica Restarted', details: event.data };
    case 'workload.proton-errored':
      return { eventType: 'Proton Errored', details: event.data };
    case 'workload.proton-scaled':
      return { eventType: 'Proton Scaled', details: event.data };
    case 'workload.stats-reset':
      return { eventType: 'Stats Reset', details: event.data };
    case 'workload.stop-requested':
      return { eventType: 'Stop Requested', details: {} };
    case 'workload.status-changed':
      return { eventType: 'Status Changed', details: { from: event.data.from, to: event.data.to, protonId: event.data.protonId, reason: event.data.reason } };
    case 'workload.replacement-started':
      return {
        eventType: 'Replacement Started',
        details: { replacementId: event.data.replacementId, strategy: event.data.strategy, candidateArtifactId: event.data.candidateArtifactId, candidateProtonId: event.data.candidateProtonId },
      };
    case 'workload.replacement-finished':
      return {
        eventType: event.data.outcome === 'completed' ? 'Replacement Completed' : event.data.outcome === 'errored' ? 'Replacement Errored' : 'Replacement Canceled',
        details: { replacementId: event.data.replacementId, message: event.data.message, protonId: event.data.protonId },
      };
    case 'workload.settings-updated':
      return { eventType: 'Settings Updated', details: { runtime: event.data.runtime, replacementId: event.data.replacementId } };
    case 'workload.artifact-promoted':
      return { eventType: 'Artifact Promoted', details: event.data };
    case 'workload.shared-roles-updated':
      return { eventType: 'Shared Roles Updated', details: { updatedBy: event.data.updatedBy, before: event.data.before, after: event.data.after } };
    case 'workload.deleted':
      return { eventType: 'Workload Deleted', details: event.data.leftovers.length > 0 ? { leftoverProtons: event.data.leftovers } : {} };
  }
}
