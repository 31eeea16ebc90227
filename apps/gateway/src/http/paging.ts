import type { Page } from '@wcp/contracts';
import type { FastifyRequest } from 'fastify';

/**
 * The list envelope. `next`/`previous` repeat the request's own query with only `offset`
 * changed, on the public base URL.
 */
export function page<T>(request: FastifyRequest, baseUrl: string, totalCount: number, data: T[], offset: number, limit: number): Page<T> {
  const [path, query = ''] = request.url.split('?', 2);
  const link = (newOffset: number) => {
    const params = new URLSearchParams(query);
    params.set('offset', String(newOffset));
    return `${baseUrl}${path}?${params.toString()}`;
  };
  return {
    totalCount,
    count: data.length,
    next: offset + data.length < totalCount ? link(offset + limit) : null,
    previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    data,
  };
}
