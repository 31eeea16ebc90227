import { inSpan, SpanKind } from '@wcp/tracing';
import type { AppendOutcome, AppendRequest } from './event-store';

/**
 * An append as a span (`event-store append`, a child of the command's consumer span): it covers
 * the wait in the group commit too, which is what the command experiences. Its outcome
 * (appended, duplicate, conflict) is an attribute. A no-op span when tracing is off.
 */
export function tracedAppend(store: 'mongodb' | 'sqlite', request: AppendRequest, append: () => Promise<AppendOutcome>): Promise<AppendOutcome> {
  const attributes = { 'db.system.name': store, 'wcp.stream.id': request.streamId, 'wcp.stream.expected_version': request.expectedVersion, 'wcp.events': request.events.length };
  return inSpan('@wcp/workload-service', 'event-store append', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const outcome = await append();
    span.setAttribute('wcp.append.outcome', outcome.status);
    return outcome;
  });
}
