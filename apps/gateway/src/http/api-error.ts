import { DomainError, HTTP_STATUS_OF_KIND } from '@wcp/contracts';

export interface ValidationDetail {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/** An HTTP answer of the gateway: `{ "detail": ... }` with a status. The only place kinds become statuses. */
export class ApiError extends Error {
  /** Decided by a service (after its own access check), not refused by the gateway itself. */
  fromService = false;

  constructor(readonly status: number, readonly detail: string | ValidationDetail[], readonly headers: Record<string, string> = {}) {
    super(typeof detail === 'string' ? detail : 'validation error');
  }
}


export function fromDomainError(error: DomainError, fromService = false): ApiError {
  const api =
    // A refusal about the request as a whole, not one of its fields: a sentence, as the draft has it.
    error.code === 'IDEMPOTENCY_KEY_REUSED'
      ? new ApiError(422, error.message)
      : error.kind === 'validation'
      ? new ApiError(422, [{ loc: error.loc ?? ['query'], msg: error.message, type: 'value_error' }])
      : new ApiError(HTTP_STATUS_OF_KIND[error.kind], error.message);
  api.fromService = fromService;
  return api;
}
