import { Actor, DomainError } from '@wcp/contracts';
import { ApiError, fromDomainError } from './api-error';

/**
 * Calls a service's internal HTTP API. The caller travels in `x-wcp-actor`; a service refusal
 * (`{code, kind, message}`) becomes the matching API error; an unreachable service is a 503.
 */
export class InternalClient {
  constructor(private readonly baseUrl: string, private readonly service: string) {}

  async get<T>(path: string, actor: Actor | null): Promise<T> {
    return this.call<T>('GET', path, undefined, actor);
  }

  async post<T>(path: string, body: unknown, actor: Actor | null): Promise<T> {
    return this.call<T>('POST', path, body, actor);
  }

  async call<T>(method: string, path: string, body: unknown, actor: Actor | null): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(actor ? { 'x-wcp-actor': Buffer.from(JSON.stringify(actor)).toString('base64url') } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new ApiError(503, `The ${this.service} is unavailable: ${error instanceof Error ? error.message : error}`);
    }
    const text = await response.text();
    const value = text ? JSON.parse(text) : null;
    if (response.ok) return value as T;
    if (value && typeof value === 'object' && 'kind' in value && 'code' in value) throw fromDomainError(value as DomainError);
    throw new ApiError(response.status >= 500 ? 502 : response.status, `The ${this.service} answered ${response.status}.`);
  }

  async ping(): Promise<boolean> {
    return (await this.health()) !== null;
  }

  /** The service's own health answer, or null when it does not answer. */
  async health(): Promise<Record<string, unknown> | null> {
    try {
      const response = await fetch(`${this.baseUrl}/internal/health`, { signal: AbortSignal.timeout(2000) });
      return response.ok ? ((await response.json()) as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
}

export const WORKLOAD_SERVICE = Symbol('WORKLOAD_SERVICE');
export const TELEMETRY_SERVICE = Symbol('TELEMETRY_SERVICE');
