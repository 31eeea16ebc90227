import { OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders, request as httpRequest, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { GatewayConfig } from '../config';
import { downstreamResponseHeaders, DataPlaneTarget } from './forwarding';
import type { Replica, ReplicaRouter, ReplicaRoutes } from './replica-router';
import { DataPlaneMetrics } from './data-plane.metrics';
import { answerDetail } from './detail-answer';
import { CLIENT_CLOSED_REQUEST, elapsedMs, failureAction, isReplayable, ReplayBuffer, requestRecord } from './forwarding-outcome';
import type { RequestRecorder } from './request-recorder';
import type { ConcurrencyMeter, ProtonGauge } from './concurrency.meter';
import { ReplicaSelector } from './traffic-split';

/** One request on its way to a replica. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  target: DataPlaneTarget;
  /** Mutable: a request held on standby gets the table that woke it (StandbyHolder). */
  routes: ReplicaRoutes;
  /**
   * Set by the data plane, taken once: gives back a request whose replicas all turned out gone
   * before any byte of it left (the last replica stopped under a cached route, e.g. on the way to
   * zero), so it is routed again — and held, when the workload is on standby now.
   */
  retake?: () => void;
  headers: OutgoingHttpHeaders;
  startedAt: Date;
  /** performance.now() at receipt. */
  t0: number;
}

class UpstreamTimeout extends Error {}

/** The request's `timeout` went off (its socket idle that long): one function for every request, no closure each. */
function destroyOnTimeout(this: ClientRequest): void {
  this.destroy(new UpstreamTimeout());
}

/** What every request of one forwarder shares. */
interface Upstreams {
  readonly agent: Agent;
  readonly selector: ReplicaSelector;
  readonly recorder: RequestRecorder;
  readonly metrics: DataPlaneMetrics;
  /** In-flight requests per proton, the autoscaler's input; null when nobody listens (tests, bench). */
  readonly meter: Pick<ConcurrencyMeter, 'started' | 'ended'> | null;
  readonly bodyLimit: number;
  readonly timeoutMs: number;
  address(url: string): { hostname: string; port: number };
  /** A replica of the workload refused a connection: its cached routes are stale. */
  unreachable(workloadId: string): void;
}

/**
 * Streams a request to a ready replica and the answer back, without buffering either body, and
 * records it. The replica is chosen by the traffic split between the active proton and a
 * candidate, then round robin per (workload, proton). The request body is read only once the
 * upstream connection is established, so a refused connection can be retried on another replica
 * with nothing lost; once body bytes have left, a failure is a 502.
 */
export class ReplicaForwarder implements OnApplicationShutdown {
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo', timeout: 4000 });
  private readonly parsedUrls = new Map<string, { hostname: string; port: number }>();
  private readonly upstreams: Upstreams;

  constructor(
    config: Pick<GatewayConfig, 'DATA_PLANE_BODY_LIMIT_BYTES' | 'DATA_PLANE_UPSTREAM_TIMEOUT_MS'>,
    recorder: RequestRecorder,
    router?: Pick<ReplicaRouter, 'forget'>,
    metrics = new DataPlaneMetrics(100),
    meter: Pick<ConcurrencyMeter, 'started' | 'ended'> | null = null,
  ) {
    this.upstreams = {
      metrics,
      meter,
      unreachable: (workloadId) => router?.forget(workloadId),
      agent: this.agent,
      selector: new ReplicaSelector(),
      recorder,
      bodyLimit: config.DATA_PLANE_BODY_LIMIT_BYTES,
      timeoutMs: config.DATA_PLANE_UPSTREAM_TIMEOUT_MS,
      address: (url) => this.address(url),
    };
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  forward(ex: Exchange): void {
    new Forwarding(ex, this.upstreams);
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

/** One upstream request to one replica; a retry is a new attempt. */
class Attempt {
  readonly request: ClientRequest;
  bodyStarted = false;

  constructor(readonly replica: Replica, owner: Forwarding, upstreams: Upstreams, ex: Exchange, fresh: boolean) {
    const { hostname, port } = upstreams.address(replica.url);
    // A retry never takes another pooled connection: it may be as stale as the one that failed.
    // `timeout` as an option: the agent sets it on the socket it hands over, without the listeners and closures of setTimeout().
    const request = httpRequest({ agent: fresh ? false : upstreams.agent, hostname, port, method: ex.req.method ?? 'GET', path: ex.target.path + ex.target.query, headers: ex.headers, timeout: upstreams.timeoutMs });
    this.request = request;
    request.on('timeout', destroyOnTimeout);
    request.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => owner.startBody(this));
      else owner.startBody(this);
    });
    request.on('response', (incoming) => owner.onResponse(this, incoming));
    request.on('error', (error) => owner.onError(this, error));
  }
}

/**
 * One request from receipt to its record. At most two attempts (see failureAction); only the
 * current attempt may answer. `settled` turns true when the status line is decided (the
 * replica's answer, a refusal of ours, or the caller leaving); after that a failure can only cut
 * the connection.
 */
class Forwarding {
  private bytesIn = 0;
  private bytesOut = 0;
  private status = 0;
  private attempts = 0;
  private settled = false;
  /** Given back to the data plane (abandon): another forwarding answers and records the request. */
  private abandoned = false;
  private current: Attempt;
  /** The request body flows (into the current attempt): 'data' and 'end' are listened to. */
  private reading = false;
  private readonly replay: ReplayBuffer;
  /**
   * Counts this request in its proton's concurrency from the first attempt until the response
   * closes (answered, failed or abandoned: 'close' fires once in every case), on the proton of
   * the first attempt even if a retry lands elsewhere.
   */
  private readonly gauge: ProtonGauge | null;

  constructor(private readonly ex: Exchange, private readonly upstreams: Upstreams) {
    this.replay = new ReplayBuffer(Number(ex.req.headers['content-length'] ?? 0));
    this.current = this.attempt(upstreams.selector.pick(ex.routes));
    // A response closed already would never emit 'close' again: counting it would leak.
    this.gauge = upstreams.meter && !ex.res.closed ? upstreams.meter.started(ex.routes.workloadId, this.current.replica.protonId, performance.now()) : null;
    ex.res.once('close', () => this.onClose());
  }

  /** Reads the body into the upstream request once its connection is up (never before: see retry). */
  startBody(attempt: Attempt): void {
    if (attempt.bodyStarted || this.settled || this.current !== attempt) return;
    attempt.bodyStarted = true;
    const { req } = this.ex;
    // A retry first replays what the failed attempt had consumed.
    for (const chunk of this.replay.chunks) attempt.request.write(chunk);
    if (req.readableEnded) {
      attempt.request.end();
      return;
    }
    // By hand rather than pipe(): the same flow and back-pressure without pipe's listeners and
    // closures per request, and the body is counted and kept in the same step.
    this.reading = true;
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.resume();
  }

  onResponse(attempt: Attempt, incoming: IncomingMessage): void {
    if (this.settled || this.current !== attempt) {
      incoming.destroy();
      return;
    }
    const { res } = this.ex;
    this.settled = true;
    this.status = incoming.statusCode ?? 502;
    this.upstreams.metrics.answered(this.ex.routes.workloadId, elapsedMs(this.ex.t0, performance.now()) / 1000);
    res.writeHead(this.status, downstreamResponseHeaders(incoming.headers));
    // As pipe() would, with the byte count in the same listener. The first write corks the
    // socket until the next tick, so the head and a small body still leave in one writev.
    incoming.on('data', (chunk: Buffer) => {
      this.bytesOut += chunk.length;
      if (!res.write(chunk) && !res.destroyed) {
        incoming.pause();
        res.once('drain', () => incoming.resume());
      }
    });
    incoming.on('end', () => res.end());
    incoming.on('close', () => {
      if (!incoming.complete) res.destroy();
    });
  }

  onError(attempt: Attempt, error: Error): void {
    if (this.current !== attempt) return;
    const { req, res, routes } = this.ex;
    const action = failureAction({
      settled: this.settled,
      timedOut: error instanceof UpstreamTimeout,
      code: (error as NodeJS.ErrnoException).code,
      message: error.message,
      attempts: this.attempts,
      replayable: isReplayable(this.bytesIn, attempt.bodyStarted, req.readableEnded),
      reusedSocket: attempt.request.reusedSocket,
      bodyKept: this.replay.replayable,
      callerGone: res.destroyed,
      replica: attempt.replica.replica,
      workloadId: routes.workloadId,
      timeoutMs: this.upstreams.timeoutMs,
    });
    switch (action.kind) {
      case 'cut':
        if (!res.writableFinished) res.destroy();
        return;
      case 'retry':
        this.stopReading();
        this.current = this.attempt(this.upstreams.selector.retry(routes, attempt.replica));
        return;
      case 'answer': {
        // A replica that is gone (stopped, deleted, crashed): the next request asks the control plane again.
        if (action.unreachable) this.upstreams.unreachable(routes.workloadId);
        const retake = this.ex.retake;
        if (action.unreachable && retake && isReplayable(this.bytesIn, attempt.bodyStarted, req.readableEnded)) {
          this.ex.retake = undefined;
          this.abandon();
          retake();
          return;
        }
        this.fail(action.status, action.detail);
      }
    }
  }

  private attempt(replica: Replica): Attempt {
    this.attempts += 1;
    return new Attempt(replica, this, this.upstreams, this.ex, this.attempts > 1);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytesIn += chunk.length;
    this.replay.push(chunk);
    if (this.bytesIn > this.upstreams.bodyLimit) {
      this.fail(413, `Request body is larger than ${this.upstreams.bodyLimit} bytes, the data-plane limit.`);
      return;
    }
    const { request } = this.current;
    if (!request.write(chunk) && !request.destroyed) {
      this.ex.req.pause();
      request.once('drain', () => {
        if (this.reading && this.current.request === request) this.ex.req.resume();
      });
    }
  };

  private readonly onEnd = (): void => {
    this.reading = false;
    this.ex.req.off('data', this.onData);
    this.current.request.end();
  };

  /** The body stops flowing into the current attempt (retried, refused, handed back); what was read is in `replay`. */
  private stopReading(): void {
    if (!this.reading) return;
    this.reading = false;
    const { req } = this.ex;
    req.off('data', this.onData);
    req.off('end', this.onEnd);
    req.pause();
  }

  /** Our own answer, when the replica gave none; after the status line only cutting the connection is honest. */
  private fail(code: number, detail: string): void {
    const { req, res } = this.ex;
    this.stopReading();
    this.current.request.destroy();
    if (this.settled) {
      if (!res.writableFinished) res.destroy();
      return;
    }
    this.settled = true;
    this.status = code;
    // An unread upload cannot be resumed on this connection: close it after the answer.
    answerDetail(res, code, detail, req.readableEnded ? {} : { connection: 'close' });
  }

  /** Hands the request back (Exchange.retake): no answer and no record here; the forwarding that serves it records it. */
  private abandon(): void {
    this.settled = true;
    this.abandoned = true;
    this.stopReading();
    this.current.request.destroy();
    if (this.gauge) this.upstreams.meter!.ended(this.gauge, performance.now());
  }

  private onClose(): void {
    if (this.abandoned) return;
    if (!this.settled) {
      // The caller left before any answer: stop the replica's work too.
      this.settled = true;
      this.status = CLIENT_CLOSED_REQUEST;
      this.current.request.destroy();
    } else if (!this.ex.res.writableFinished) {
      this.current.request.destroy();
    }
    const { ex } = this;
    const { replica } = this.current;
    const t1 = performance.now();
    if (this.gauge) this.upstreams.meter!.ended(this.gauge, t1);
    this.upstreams.metrics.finished(ex.routes.workloadId, this.status);
    this.upstreams.recorder.record(
      requestRecord(randomUUID(), {
        workloadId: ex.routes.workloadId,
        protonId: replica.protonId,
        replica: replica.replica,
        method: ex.req.method ?? 'GET',
        path: ex.target.path,
        status: this.status,
        startedAt: ex.startedAt,
        durationMs: elapsedMs(ex.t0, t1),
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
      }),
    );
  }
}
