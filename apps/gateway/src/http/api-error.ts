import { DomainError, HTTP_STATUS_OF_KIND } from '@wcp/contracts';

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


export function fromDomainError(error: DomainError): ApiError {
  if (error.kind === 'validation') {
    return new ApiError(422, [{ loc: error.loc ?? ['query'], msg: error.message, type: 'value_error' }]);
  }
  return new ApiError(HTTP_STATUS_OF_KIND[error.kind], error.message);
}
