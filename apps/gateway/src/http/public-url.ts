/**
 * Services render `endpoint` as a path (`/api/v2/endpoints/workloads/{id}/`); the gateway is the
 * only one that knows the public base URL, so it makes the path absolute on the way out.
 */
export function withAbsoluteEndpoint<T extends { endpoint: string }>(baseUrl: string, dto: T): T {
  return { ...dto, endpoint: `${baseUrl}${dto.endpoint}` };
}
