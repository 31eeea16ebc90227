import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { z } from 'zod';
import { toDomainError } from './internal-exception.filter';

describe('internal API errors', () => {
  it('answers like every refusal: a request it cannot read is a validation error with its loc, never a 500', () => {
    const parsed = z.object({ limit: z.coerce.number().int().max(1000) }).safeParse({ limit: '5000' });
    expect(parsed.success).toBe(false);
    expect(toDomainError(parsed.error)).toMatchObject({ kind: 'validation', code: 'INVALID_REQUEST', loc: ['query', 'limit'] });
    expect(toDomainError(new NotFoundException('Cannot GET /internal/nope'))).toMatchObject({ kind: 'not_found', code: 'ROUTE_NOT_FOUND' });
    expect(toDomainError(new PayloadTooLargeException())).toMatchObject({ kind: 'bad_request' });
    expect(toDomainError(new SyntaxError('Unexpected token'))).toMatchObject({ kind: 'bad_request', code: 'MALFORMED_JSON' });
    expect(toDomainError(new TypeError('x is undefined'))).toEqual({ kind: 'internal', code: 'INTERNAL_ERROR', message: 'The workload service failed to answer; see its log.' });
  });
});
