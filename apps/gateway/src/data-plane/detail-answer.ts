import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * The gateway's own answer on the data plane, in the API's error format: `{ "detail": ... }`
 * with a status (and e.g. `retry-after`, `connection: close`). One place for the forwarder's
 * refusals, the routes' and the hold's.
 */
export function answerDetail(res: ServerResponse, status: number, detail: unknown, headers: OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify({ detail });
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
