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
    case 'workload.stats-reset':
      return { eventType: 'Stats Reset', details: event.data };
    case 'workload.stop-requested':
      return { eventType: 'Stop Requested', details: {} };
    case 'workload.status-changed':
      return { eventType: 'Status Changed', details: { from: event.data.from, to: event.data.to, protonId: event.data.protonId, reason: event.data.reason } };
    case 'workload.deleted':
      return { eventType: 'Workload Deleted', details: event.data.leftovers.length > 0 ? { leftoverProtons: event.data.leftovers } : {} };
  }
}
