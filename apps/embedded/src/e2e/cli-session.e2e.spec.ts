import { waitFor } from '@wcp/testing';
import { ADMIN_TOKEN, describeOnSystems } from './system.harness';

/**
 * The vendor CLI's (`datarobot-oss/cli`, `dr workload …`) session, replayed route by route and
 * field by field as its source builds and reads them (internal/config/auth.go,
 * internal/workload/{workload,operations,logs}.go, internal/drapi): absolute URLs made from
 * `DATAROBOT_ENDPOINT`, trailing slashes, `{}` bodies on start/stop, `next` links that must stay
 * on the same host, and the `--follow` loop's `startTime` cursor (newest seen − 10 s, RFC 3339
 * with nanoseconds) with its dedup key (timestamp + level + message).
 */

/** What the CLI sends on every call (drapi.AuthorizeRequest). */
function cliHeaders(token: string, trace: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'user-agent': 'DataRobot CLI/v0.2.60 (linux/amd64)', 'x-datarobot-api-consumer-trace': trace };
}

interface CliLogEntry {
  timestamp: string;
  level: string;
  message: string;
}

class Cli {
  /** `DATAROBOT_ENDPOINT`: the CLI takes scheme and host from it for every route but the token check. */
  constructor(private readonly endpoint: string, private readonly token: string) {}

  private get host(): string {
    return new URL(this.endpoint).origin;
  }

  async call(method: string, url: string, trace: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(url, {
      method,
      headers: { ...cliHeaders(this.token, trace), ...(body !== undefined ? { 'content-type': 'application/json', accept: 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** config.VerifyToken: `GET <endpoint>/version/`; anything but 200 is "could not verify your credentials". */
  verifyToken() {
    return this.call('GET', `${this.endpoint}/version/`, 'datarobot.cli.auth.verify');
  }

  create(payload: unknown) {
    return this.call('POST', `${this.host}/api/v2/workloads/`, 'datarobot.cli.workload.create', payload);
  }

  get(id: string) {
    return this.call('GET', `${this.host}/api/v2/workloads/${encodeURIComponent(id)}/`, 'datarobot.cli.workload.get');
  }

  action(id: string, action: 'start' | 'stop') {
    return this.call('POST', `${this.host}/api/v2/workloads/${encodeURIComponent(id)}/${action}`, `datarobot.cli.workload.${action}`, {});
  }

  delete(id: string) {
    return this.call('DELETE', `${this.host}/api/v2/workloads/${encodeURIComponent(id)}/`, 'datarobot.cli.workload.delete');
  }

  /** workload.WaitForWorkload: poll until running, errored or terminated. */
  async waitForWorkload(id: string, timeoutMs = 60_000): Promise<any> {
    return waitFor(
      async () => {
        const r = await this.get(id);
        expect(r.status).toBe(200);
        return ['running', 'errored', 'terminated'].includes(r.body.status) ? r.body : undefined;
      },
      `workload ${id} to settle`,
      timeoutMs,
      250,
    );
  }

  /** Lists walked through `next`, refusing a link to another host (drapi.AssertNextOnSameHost). */
  async walk(firstUrl: string, trace: string, max = Infinity): Promise<any[]> {
    const all: any[] = [];
    let url: string | null = firstUrl;
    while (url) {
      const page = await this.call('GET', url, trace);
      expect(page.status).toBe(200);
      if (page.body.data.length === 0) break;
      all.push(...page.body.data);
      if (all.length >= max || !page.body.next) break;
      expect(new URL(page.body.next).host).toBe(new URL(this.host).host);
      url = page.body.next;
    }
    return all.slice(0, max);
  }

  list(limit: number) {
    return this.walk(`${this.host}/api/v2/workloads/?limit=${Math.min(limit, 100)}`, 'datarobot.cli.workload.list', limit);
  }

  /** workload.fetchWorkloadLogs: newest first, page size min(limit, 1000), level lower-cased, startTime as sent. */
  logs(id: string, limit: number, level = '', since = ''): Promise<CliLogEntry[]> {
    const query = new URLSearchParams({ limit: String(limit > 0 ? Math.min(limit, 1000) : 1000) });
    if (level) query.set('level', level.toLowerCase());
    if (since) query.set('startTime', since);
    return this.walk(`${this.host}/api/v2/otel/workload/${encodeURIComponent(id)}/logs/?${query}`, '', limit > 0 ? limit : Infinity);
  }
}

/** Go's time.RFC3339Nano of a UTC instant, as the follow loop formats its cursor (trailing zeros trimmed). */
function goRfc3339Nano(ms: number, extraNanos = 0): string {
  const iso = new Date(ms).toISOString();
  const nanos = (String(ms % 1000).padStart(3, '0') + String(extraNanos).padStart(6, '0')).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${nanos ? `.${nanos}` : ''}Z`;
}

const logKey = (e: CliLogEntry) => `${e.timestamp}\u0000${e.level}\u0000${e.message}`;

describeOnSystems('the vendor CLI session', (system) => {
  let cli: Cli;

  beforeAll(async () => {
    cli = new Cli(`${system.baseUrl}/api/v2`, ADMIN_TOKEN);
  }, 180_000);

  it('version check → create (inline artifact, partial runtime) → running → endpoint → logs → follow → stop → start → delete', async () => {
    // 1. Every command verifies the token first.
    const version = await cli.verifyToken();
    expect(version).toEqual({ status: 200, body: { major: expect.any(Number), minor: expect.any(Number), versionString: expect.any(String), releasedVersion: expect.any(String) } });
    expect((await new Cli(`${system.baseUrl}/api/v2`, 'not-a-valid-token-at-all').verifyToken()).status).toBe(401);

    // 2. create: the YAML spec converted to JSON, sent verbatim; a partial runtime (no containers).
    const created = await cli.create({
      name: 'cli-echo',
      artifact: {
        name: 'cli-echo-artifact',
        type: 'service',
        spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', imageUri: 'local/echo-model:1', port: 8000, primary: true }] }] },
      },
      runtime: { containerGroups: [{ name: 'default', replicaCount: 2 }] },
    });
    expect(created.status).toBe(201);
    const w = created.body;
    // Fields the CLI decodes (workload.Workload): times must parse as RFC 3339.
    expect(w).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'cli-echo', type: 'service', importance: 'low', artifactId: expect.any(String) });
    expect(Number.isNaN(Date.parse(w.createdAt)) || Number.isNaN(Date.parse(w.updatedAt))).toBe(false);
    expect(['submitted', 'provisioning', 'launching', 'running']).toContain(w.status);
    expect(w.endpoint).toBe(`${system.baseUrl}/api/v2/endpoints/workloads/${w.id}/`);
    expect(w.runtime.containerGroups).toEqual([
      { name: 'default', replicaCount: 2, autoscaling: null, resourceBundles: [], containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: 536870912, gpu: null } }] },
    ]);

    // 3. "Startup is asynchronous: poll … until the status is running".
    const running = await cli.waitForWorkload(w.id);
    expect(running.status).toBe('running');
    const listed = await cli.list(100);
    expect(listed.map((x) => x.id)).toContain(w.id);

    // 4. endpoint: the printed URL serves the echo replica.
    const endpoint = (await cli.get(w.id)).body.endpoint;
    const served = await fetch(`${endpoint}predict`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(served.status).toBe(200);
    expect(await served.json()).toMatchObject({ ok: true, path: '/predict', body: { x: 1 } });

    // 5. logs: the start line of each replica and the request's line arrive, newest first.
    const first = await waitFor(
      async () => {
        const entries = await cli.logs(w.id, 100);
        const starts = entries.filter((e) => /listening/.test(e.message));
        return starts.length === 2 && entries.some((e) => e.message.includes('/predict')) ? entries : undefined;
      },
      'start and request lines in the logs',
      30_000,
      500,
    );
    for (const e of first) {
      expect(e).toEqual({ timestamp: expect.any(String), level: expect.stringMatching(/^(debug|info|warning|error|critical)$/), message: expect.any(String), replica: expect.any(String), protonId: w.protonId ?? running.protonId });
      expect(Number.isNaN(Date.parse(e.timestamp))).toBe(false);
    }
    const times = first.map((e) => Date.parse(e.timestamp));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(first.find((e) => e.message.includes('/predict'))?.level).toBe('info');
    // --level keeps that severity and above: the echo replica's 500s log as JSON with level error.
    await fetch(`${endpoint}boom?status=500`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const errors = await waitFor(async () => {
      const entries = await cli.logs(w.id, 100, 'ERROR');
      return entries.length > 0 ? entries : undefined;
    }, 'an error line', 30_000, 500);
    expect(errors.every((e) => e.level === 'error' || e.level === 'critical')).toBe(true);
    expect((await cli.logs(w.id, 100, 'warn')).every((e) => e.level !== 'info' && e.level !== 'debug')).toBe(true);
    // Paging by `next` with a small page walks the same lines.
    const paged = await cli.logs(w.id, 3);
    expect(paged).toEqual((await cli.logs(w.id, 100)).slice(0, 3));

    // 6. --follow: seed, then poll with startTime = newest seen − 10 s, printing unseen lines.
    const seen = new Set((await cli.logs(w.id, 100)).map(logKey));
    const newest = Math.max(...[...seen].map((k) => Date.parse(k.split('\u0000')[0])));
    const marker = `follow-${Date.now()}`;
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${endpoint}${marker}/${i}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    }
    const printed: CliLogEntry[] = [];
    await waitFor(
      async () => {
        const entries = await cli.logs(w.id, 0, '', goRfc3339Nano(newest - 10_000, 123456));
        for (const e of [...entries].reverse()) {
          if (seen.has(logKey(e))) continue;
          seen.add(logKey(e));
          printed.push(e);
        }
        return printed.filter((e) => e.message.includes(marker)).length === 3;
      },
      'the new request lines through --follow',
      30_000,
      500,
    );
    // Each new line printed once; lines of one replica in the order it wrote them (times are when the runtime read each line).
    const fresh = printed.filter((e) => e.message.includes(marker));
    expect(fresh.map((e) => /\/(\d)\b/.exec(e.message)?.[1]).sort()).toEqual(['0', '1', '2']);
    for (const replica of new Set(fresh.map((e: any) => e.replica))) {
      const order = fresh.filter((e: any) => e.replica === replica).map((e) => Number(/\/(\d)\b/.exec(e.message)?.[1]));
      expect(order).toEqual([...order].sort());
    }
    // A cursor the server cannot read is refused (the CLI then falls back to window mode).
    const bad = await cli.call('GET', `${system.baseUrl}/api/v2/otel/workload/${w.id}/logs/?startTime=yesterday`, '');
    expect(bad.status).toBe(422);

    // Logs survive a restart of the service that stores them (SIGKILL in distributed mode).
    if (system.mode === 'distributed') await system.crashAndRestart('telemetry-service');
    else await system.restart();
    const after = await waitFor(async () => {
      const r = await cli.call('GET', `${system.baseUrl}/api/v2/otel/workload/${w.id}/logs/?limit=1000`, '');
      return r.status === 200 ? (r.body.data as CliLogEntry[]) : undefined;
    }, 'logs after the restart', 60_000, 500);
    expect(after.filter((e) => e.message.includes(marker))).toHaveLength(3);
    await cli.waitForWorkload(w.id);

    // 7. stop → stopped, start → running again, delete → 404.
    const stopped = await cli.action(w.id, 'stop');
    expect(stopped).toEqual({ status: 202, body: { status: expect.any(String), workloadId: w.id, trackVia: `/api/v2/workloads/${w.id}` } });
    await waitFor(async () => (await cli.get(w.id)).body.status === 'stopped', 'stopped', 30_000, 250);
    const started = await cli.action(w.id, 'start');
    expect(started.status).toBe(202);
    expect((await cli.waitForWorkload(w.id)).status).toBe('running');
    expect((await cli.delete(w.id)).status).toBe(204);
    expect((await cli.get(w.id)).status).toBe(404);

    // 8. artifact list.
    const artifacts = await cli.walk(`${system.baseUrl}/api/v2/artifacts/?limit=100`, 'datarobot.cli.artifact.list');
    expect(artifacts.map((a) => a.name)).toContain('cli-echo-artifact');
  }, 240_000);
});
