import type { DomainError } from '@wcp/contracts';

export interface ValidationDetail {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/** An HTTP answer of the gateway: `{ "detail": ... }` with a status. The only place kinds become statuses. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly detail: string | ValidationDetail[], readonly headers: Record<string, string> = {}) {
    super(typeof detail === 'string' ? detail : 'validation error');
  }
}

const STATUS_BY_KIND: Record<DomainError['kind'], number> = {
  validation: 422,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  bad_gateway: 502,
  timeout: 504,
};

export function fromDomainError(error: DomainError): ApiError {
  if (error.kind === 'validation') {
    return new ApiError(422, [{ loc: error.loc ?? ['query'], msg: error.message, type: 'value_error' }]);
  }
  return new ApiError(STATUS_BY_KIND[error.kind], error.message);
}
