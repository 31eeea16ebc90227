import { request } from 'node:http';
import { connect } from 'node:net';
import type { Probe } from '@wcp/contracts';

export interface ProbeOutcome {
  ok: boolean;
  /** Human-readable result, e.g. "GET /healthz → 503" or "connect ECONNREFUSED". */
  detail: string;
}

/** A probe's configuration in milliseconds. */
export interface ProbeTiming {
  path: string | null;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

/** Kubernetes defaults for what a probe leaves out; `secondMs` is the length of one probe second (tests shrink it). */
export function probeTiming(probe: Probe, secondMs: number): ProbeTiming {
  return {
    // Locally the container port is remapped to an allocated one, so a probe's own port is ignored.
    path: probe.path,
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * secondMs,
    periodMs: (probe.periodSeconds ?? 10) * secondMs,
    timeoutMs: (probe.timeoutSeconds ?? 1) * secondMs,
    failureThreshold: probe.failureThreshold ?? 3,
    successThreshold: probe.successThreshold ?? 1,
  };
}

/** HTTP GET probe; healthy on 2xx/3xx as Kubernetes does. A fresh connection per probe. */
export function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'wcp-probe/1', connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      done({ ok: status >= 200 && status < 400, detail: `GET ${path} → ${status}` });
    });
    const timer = setTimeout(() => {
      done({ ok: false, detail: `GET ${path} timed out after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => done({ ok: false, detail: `GET ${path}: ${(err as NodeJS.ErrnoException).code ?? err.message}` }));
    req.end();
  });
}

/** TCP connect probe: the readiness check of a container without a configured probe. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: ProbeOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `connect ${port} timed out after ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => done({ ok: true, detail: `connect ${port} ok` }));
    socket.once('error', (err) => done({ ok: false, detail: `connect ${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}` }));
  });
}
