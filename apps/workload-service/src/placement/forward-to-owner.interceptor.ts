import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, Observable } from 'rxjs';
import { mergeMap } from 'rxjs/operators';
import { askOwner, PLACEMENT_HOP_HEADER } from './owner.client';
import { PlacementDirectory } from './placement.directory';

/**
 * On a query answered from the runtime (routes, status details, rollout progress): when
 * another instance runs the workload (`:id`), the answer is that instance's — one hop, marked so
 * it never forwards again. The owner unreachable (leaving, dead): answered here, where the
 * runtime knows no replica of it.
 */
@Injectable()
export class ForwardToOwner implements NestInterceptor {
  constructor(private readonly directory: PlacementDirectory) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const workloadId = (request.params as { id?: string }).id;
    if (!workloadId || request.headers[PLACEMENT_HOP_HEADER]) return next.handle();
    return from(this.remote(reply, workloadId, request)).pipe(mergeMap((answer) => (answer === null ? next.handle() : [answer])));
  }

  private async remote(reply: FastifyReply, workloadId: string, request: FastifyRequest): Promise<unknown> {
    const owner = await this.directory.ownerUrl(workloadId);
    return owner ? askOwner(reply, owner, request.url, String(request.headers['x-wcp-actor'] ?? '')) : null;
  }
}
