import type { FastifyReply } from 'fastify';

/** Set on a query forwarded to the instance that runs the workload: that one answers, never forwards again. */
export const PLACEMENT_HOP_HEADER = 'x-wcp-placement-hop';

const OWNER_TIMEOUT_MS = 5000;

/**
 * Asks the instance that runs a workload for its runtime state (routes, status details) and
 * answers with its status and body. Null when that instance cannot be reached: it is leaving or
 * dead, and until the group hands its partitions over the honest local answer is "no replica".
 */
export async function askOwner(reply: FastifyReply, ownerUrl: string, path: string, actorHeader: string): Promise<unknown> {
  try {
    const response = await fetch(`${ownerUrl}${path}`, {
      headers: { 'x-wcp-actor': actorHeader, [PLACEMENT_HOP_HEADER]: '1' },
      signal: AbortSignal.timeout(OWNER_TIMEOUT_MS),
    });
    const body = (await response.json()) as unknown;
    reply.status(response.status);
    return body;
  } catch {
    return null;
  }
}
