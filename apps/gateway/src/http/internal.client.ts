import { Actor, DomainError } from '@wcp/contracts';
import { logFields } from '@wcp/logging';
import { injectTraceHeaders } from '@wcp/tracing';
import { ApiError, fromDomainError } from './api-error';

/**
 * How a request reaches a service's internal API: HTTP by default; the embedded composition
 * passes an in-process one (Fastify's `inject`: same routing and handlers, no socket).
 */
export type InternalTransport = (request: { method: string; url: string; headers: Record<string, string>; body?: string }) => Promise<{ status: number; text: string }>;

const httpTransport: InternalTransport = async ({ method, url, headers, body }) => {
  const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  return { status: response.status, text: await response.text() };
};

/**
 * Calls a service's internal HTTP API. The caller travels in `x-wcp-actor`; a service refusal
 * (`{code, kind, message}`) becomes the matching API error; an unreachable service is a 503.
 */
export class InternalClient {
  constructor(private readonly baseUrl: string, private readonly service: string, private readonly transport: InternalTransport = httpTransport) {}

  async get<T>(path: string, actor: Actor | null): Promise<T> {
    return this.call<T>('GET', path, undefined, actor);
  }

  async post<T>(path: string, body: unknown, actor: Actor | null): Promise<T> {
    return this.call<T>('POST', path, body, actor);
  }

  async call<T>(method: string, path: string, body: unknown, actor: Actor | null): Promise<T> {
    let response: { status: number; text: string };
    try {
      response = await this.transport({
        method,
        url: `${this.baseUrl}${path}`,
        // The request id and trace context go along, so the service's lines and spans join this request's.
        headers: injectTraceHeaders({
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(actor ? { 'x-wcp-actor': Buffer.from(JSON.stringify(actor)).toString('base64url') } : {}),
          ...requestIdHeader(),
        })!,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(503, `The ${this.service} is unavailable: ${error instanceof Error ? error.message : error}`);
    }
    const value = response.text ? JSON.parse(response.text) : null;
    if (response.status >= 200 && response.status < 300) return value as T;
    if (value && typeof value === 'object' && 'kind' in value && 'code' in value) throw fromDomainError(value as DomainError, true);
    throw new ApiError(response.status >= 500 ? 502 : response.status, `The ${this.service} answered ${response.status}.`);
  }

  async ping(): Promise<boolean> {
    return (await this.health()) !== null;
  }

  /** The service's own health answer, or null when it does not answer. */
  async health(): Promise<Record<string, unknown> | null> {
    try {
      const response = await Promise.race([
        this.transport({ method: 'GET', url: `${this.baseUrl}/internal/health`, headers: {} }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return response.status === 200 ? (JSON.parse(response.text) as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
}

function requestIdHeader(): Record<string, string> {
  const { requestId } = logFields();
  return requestId ? { 'x-request-id': requestId } : {};
}

export const WORKLOAD_SERVICE = Symbol('WORKLOAD_SERVICE');
export const TELEMETRY_SERVICE = Symbol('TELEMETRY_SERVICE');
