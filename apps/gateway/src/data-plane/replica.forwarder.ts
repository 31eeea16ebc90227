import { OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders, request as httpRequest, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { GatewayConfig } from '../config';
import { downstreamResponseHeaders, DataPlaneTarget } from './forwarding';
import type { ReplicaRoutes } from './replica-router';
import type { RequestRecorder } from './request-recorder';
import { RoundRobin } from './round-robin';

/** Status recorded when the caller went away before the response was sent (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

/** One request on its way to a replica. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  target: DataPlaneTarget;
  routes: ReplicaRoutes;
  headers: OutgoingHttpHeaders;
  startedAt: Date;
  /** performance.now() at receipt. */
  t0: number;
}

type Replica = ReplicaRoutes['replicas'][number];

class UpstreamTimeout extends Error {}

/**
 * Streams a request to a ready replica and the answer back, without buffering either body, and
 * records it. Replicas are chosen round robin per (workload, proton). The request body is read
 * only once the upstream connection is established, so a refused connection can be retried on
 * the next replica with nothing lost; once body bytes have left, a failure is a 502.
 */
export class ReplicaForwarder implements OnApplicationShutdown {
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo', timeout: 4000 });
  private readonly rotation = new RoundRobin();
  private readonly parsedUrls = new Map<string, { hostname: string; port: number }>();

  constructor(
    private readonly config: Pick<GatewayConfig, 'DATA_PLANE_BODY_LIMIT_BYTES' | 'DATA_PLANE_UPSTREAM_TIMEOUT_MS'>,
    private readonly recorder: RequestRecorder,
  ) {}

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  forward(ex: Exchange): void {
    const { req, res, target, routes } = ex;
    const limit = this.config.DATA_PLANE_BODY_LIMIT_BYTES;
    const method = req.method ?? 'GET';
    let bytesIn = 0;
    let bytesOut = 0;
    let status = 0;
    let attempts = 0;
    let bodyStarted = false;
    let settled = false;
    let upstream: ClientRequest | null = null;
    const rotationKey = `${routes.workloadId}/${routes.protonId}`;
    let replica: Replica = this.rotation.pick(rotationKey, routes.replicas);

    const onData = (chunk: Buffer) => {
      bytesIn += chunk.length;
      if (bytesIn > limit) fail(413, `Request body is larger than ${limit} bytes, the data-plane limit.`);
    };

    const fail = (code: number, detail: string) => {
      req.off('data', onData);
      if (upstream) {
        req.unpipe(upstream);
        upstream.destroy();
      }
      if (settled) {
        // The status line is gone already: only cutting the connection is honest.
        if (!res.writableFinished) res.destroy();
        return;
      }
      settled = true;
      status = code;
      const body = JSON.stringify({ detail });
      // An unread upload cannot be resumed on this connection: close it after the answer.
      const close = !req.readableEnded;
      res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...(close ? { connection: 'close' } : {}) });
      res.end(body);
    };

    const dispatch = () => {
      attempts += 1;
      const { hostname, port } = this.address(replica.url);
      const outgoing = httpRequest({ agent: this.agent, hostname, port, method, path: target.path + target.query, headers: ex.headers });
      upstream = outgoing;
      outgoing.setTimeout(this.config.DATA_PLANE_UPSTREAM_TIMEOUT_MS, () => outgoing.destroy(new UpstreamTimeout()));
      outgoing.on('socket', (socket) => {
        if (socket.connecting) socket.once('connect', () => startBody(outgoing));
        else startBody(outgoing);
      });
      outgoing.on('response', (incoming) => {
        if (settled || upstream !== outgoing) {
          incoming.destroy();
          return;
        }
        settled = true;
        status = incoming.statusCode ?? 502;
        res.writeHead(status, downstreamResponseHeaders(incoming.headers));
        incoming.on('data', (chunk: Buffer) => {
          bytesOut += chunk.length;
        });
        incoming.on('close', () => {
          if (!incoming.complete) res.destroy();
        });
        incoming.pipe(res);
      });
      outgoing.on('error', (error) => {
        if (upstream !== outgoing) return;
        if (settled) {
          if (!res.writableFinished) res.destroy();
          return;
        }
        if (error instanceof UpstreamTimeout) {
          fail(504, `Replica ${replica.replica} did not answer within ${this.config.DATA_PLANE_UPSTREAM_TIMEOUT_MS} ms.`);
          return;
        }
        // Nothing of the body has been read yet (or there was none): safe to try another replica.
        const replayable = bytesIn === 0 && (!bodyStarted || req.readableEnded);
        if (attempts < 2 && replayable && !res.destroyed) {
          req.unpipe(outgoing);
          req.off('data', onData);
          bodyStarted = false;
          replica = routes.replicas.length > 1 ? this.rotation.pick(rotationKey, routes.replicas.filter((r) => r !== replica)) : replica;
          dispatch();
          return;
        }
        fail(502, `Replica ${replica.replica} could not be reached: ${(error as NodeJS.ErrnoException).code ?? error.message}.`);
      });
    };

    const startBody = (outgoing: ClientRequest) => {
      if (bodyStarted || settled || upstream !== outgoing) return;
      bodyStarted = true;
      if (req.readableEnded) {
        outgoing.end();
        return;
      }
      req.on('data', onData);
      req.pipe(outgoing);
    };

    res.once('close', () => {
      if (!settled) {
        // The caller left before any answer: stop the replica's work too.
        settled = true;
        status = CLIENT_CLOSED_REQUEST;
        upstream?.destroy();
      } else if (!res.writableFinished) {
        upstream?.destroy();
      }
      this.recorder.record({
        type: 'request.record',
        schemaVersion: 1,
        id: randomUUID(),
        workloadId: routes.workloadId,
        protonId: routes.protonId,
        replica: replica.replica,
        method,
        path: target.path.length > 2048 ? target.path.slice(0, 2048) : target.path,
        status,
        startedAt: ex.startedAt.toISOString(),
        durationMs: Math.round((performance.now() - ex.t0) * 1000) / 1000,
        bytesIn,
        bytesOut,
      });
    });

    dispatch();
  }

  private address(url: string): { hostname: string; port: number } {
    let parsed = this.parsedUrls.get(url);
    if (!parsed) {
      const u = new URL(url);
      parsed = { hostname: u.hostname, port: Number(u.port) || 80 };
      if (this.parsedUrls.size > 10_000) this.parsedUrls.clear();
      this.parsedUrls.set(url, parsed);
    }
    return parsed;
  }
}
