import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { policyFor, RouteRule } from '@wcp/access';
import type { Actor } from '@wcp/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AuthedRequest, AuthGuard } from '../auth/auth.guard';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { toResponse } from '../http/api-exception.filter';
import { DATA_PLANE_PREFIX, parseTarget, upstreamRequestHeaders } from './forwarding';
import { Exchange, ReplicaForwarder } from './replica.forwarder';
import { REPLICA_ROUTER, ReplicaRouter } from './replica-router';
import { answerDetail } from './detail-answer';
import { StandbyHolder } from './standby-holder';

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
    private readonly holder: StandbyHolder,
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

  /**
   * Serves a data-plane request straight off the node server, ahead of Fastify (no routing,
   * hooks, reply object or body parser to pay for on the hot path); false when `req` is not one.
   * The routes above stay registered: the route audit sees them, and `inject` reaches them.
   */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (!(req.url ?? '').startsWith(DATA_PLANE_PREFIX)) return false;
    this.forward(req, res, null).catch((error) => this.refuse(req, res, error));
    return true;
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.forward(request.raw, reply.raw, request as AuthedRequest, () => reply.hijack());
  }

  private async forward(req: IncomingMessage, res: ServerResponse, request: AuthedRequest | null, hijack?: () => void): Promise<void> {
    const t0 = performance.now();
    const startedAt = new Date();
    const target = parseTarget(req.url ?? '');
    if (!target) throw new ApiError(404, 'Workload was not found.');
    // Off Fastify, the guard gets what it reads of a request: headers and the workload id.
    const authed = request ?? ({ headers: req.headers, params: { workloadId: target.workloadId } } as unknown as AuthedRequest);
    await this.guard.admit(authed, this.rule, 'data');
    const limit = this.config.DATA_PLANE_BODY_LIMIT_BYTES;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) throw new ApiError(413, `Request body is larger than ${limit} bytes, the data-plane limit.`, { connection: 'close' });
    const routes = await this.router.resolve(target.workloadId, target.protonId, authed.actor);
    hijack?.();
    const ex: Exchange = {
      req,
      res,
      target,
      routes,
      headers: upstreamRequestHeaders(req.headers, { remoteAddress: req.socket.remoteAddress, protocol: 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http', host: req.headers.host }),
      startedAt,
      t0,
    };
    ex.retake = () => this.retake(ex, authed.actor);
    this.dispatch(ex, authed.actor);
  }

  /** Scaled to zero: held, body unread, until a replica is ready (or a bound answers 503); else forwarded. */
  private dispatch(ex: Exchange, actor: Actor): void {
    if (ex.routes.standby) this.holder.hold(ex, actor);
    else this.forwarder.forward(ex);
  }

  /** A request whose replicas were gone before any byte of it left: routed again from fresh routes (the forwarder forgot the stale ones). */
  private retake(ex: Exchange, actor: Actor): void {
    this.router.resolve(ex.routes.workloadId, ex.target.protonId, actor).then(
      (routes) => {
        ex.routes = routes;
        this.dispatch(ex, actor);
      },
      (error: unknown) => this.refuse(ex.req, ex.res, error),
    );
  }

  /** The gateway's `{ detail }` answer for a refusal on the raw path (Fastify's error handler does it on the other). */
  private refuse(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const { status, detail, headers } = toResponse(error, this.logger);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    answerDetail(res, status, detail, headers);
    // Node reads and drops the unread body of a kept-alive request; `connection: close` (413) ends it instead.
    if (headers.connection === 'close') req.destroy();
  }
}

function requiredRule(route: string): RouteRule {
  const rule = policyFor('ANY', route);
  if (!rule) throw new Error(`No authorization policy for ANY ${route}`);
  return rule;
}
