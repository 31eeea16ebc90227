import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { policyFor, RouteRule } from '@wcp/access';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { performance } from 'node:perf_hooks';
import { AuthedRequest, AuthGuard } from '../auth/auth.guard';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { toResponse } from '../http/api-exception.filter';
import { DATA_PLANE_PREFIX, parseTarget, upstreamRequestHeaders } from './forwarding';
import { ReplicaForwarder } from './replica.forwarder';
import { REPLICA_ROUTER, ReplicaRouter } from './replica-router';

/**
 * `ANY /api/v2/endpoints/workloads/:workloadId[/*]`: the data plane.
 *
 * Registered straight on Fastify, in its own encapsulated context, rather than as a Nest
 * controller: only there can the JSON body parser (and its 1 MiB limit) be replaced by one that
 * leaves the body unread, so it can stream to the replica (DATA_PLANE_BODY_LIMIT_BYTES is
 * counted while streaming). The gate is the same AuthGuard instance and ROUTE_POLICY rule
 * (CAN_INVOKE), called here because Nest guards run only on Nest routes, with the data plane's
 * own rate limit.
 */
@Injectable()
export class DataPlaneRoutes implements OnModuleInit {
  private readonly logger = new Logger('DataPlane');
  private readonly route = `${DATA_PLANE_PREFIX.replace(/\/$/, '')}/:workloadId`;
  private readonly rule: RouteRule = requiredRule(this.route);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: AuthGuard,
    @Inject(REPLICA_ROUTER) private readonly router: ReplicaRouter,
    private readonly forwarder: ReplicaForwarder,
    @Inject(CONFIG) private readonly config: GatewayConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    void fastify.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      // Any media type, left unread: `request.raw` is piped to the replica by the forwarder.
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.setErrorHandler((error, _request, reply) => {
        const { status, detail, headers } = toResponse(error, this.logger);
        void reply.status(status).headers(headers).send({ detail });
      });
      const handler = (request: FastifyRequest, reply: FastifyReply) => this.handle(request, reply);
      scope.all(this.route, handler);
      scope.all(`${this.route}/*`, handler);
    });
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const t0 = performance.now();
    const startedAt = new Date();
    await this.guard.admit(request as AuthedRequest, this.rule, 'data');
    const target = parseTarget(request.raw.url ?? '');
    if (!target) throw new ApiError(404, 'Workload was not found.');
    const limit = this.config.DATA_PLANE_BODY_LIMIT_BYTES;
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) throw new ApiError(413, `Request body is larger than ${limit} bytes, the data-plane limit.`, { connection: 'close' });
    const routes = await this.router.resolve(target.workloadId, target.protonId, (request as AuthedRequest).actor);
    reply.hijack();
    this.forwarder.forward({
      req: request.raw,
      res: reply.raw,
      target,
      routes,
      headers: upstreamRequestHeaders(request.headers, { remoteAddress: request.raw.socket.remoteAddress, protocol: request.protocol, host: request.headers.host }),
      startedAt,
      t0,
    });
  }
}

function requiredRule(route: string): RouteRule {
  const rule = policyFor('ANY', route);
  if (!rule) throw new Error(`No authorization policy for ANY ${route}`);
  return rule;
}
