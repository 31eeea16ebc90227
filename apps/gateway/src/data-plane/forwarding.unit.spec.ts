import { downstreamResponseHeaders, parseTarget, upstreamRequestHeaders } from './forwarding';
import { RoundRobin } from './round-robin';

const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const client = { remoteAddress: '10.0.0.7', protocol: 'http' as const, host: 'api.example:8080' };

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers, the API token, internal and client-claimed forwarding headers', () => {
    const headers = upstreamRequestHeaders(
      {
        host: 'api.example:8080',
        connection: 'keep-alive, x-trace-hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        upgrade: 'websocket',
        'proxy-authorization': 'Basic x',
        expect: '100-continue',
        authorization: 'Bearer secret',
        'x-wcp-actor': 'spoofed',
        'x-forwarded-for': '6.6.6.6',
        'x-trace-hop': '1',
        'content-type': 'application/json',
        'content-length': '12',
        accept: 'application/json',
        cookie: 'a=1',
      },
      client,
    );
    expect(headers).toEqual({
      'content-type': 'application/json',
      'content-length': '12',
      accept: 'application/json',
      cookie: 'a=1',
      'x-forwarded-for': '10.0.0.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'api.example:8080',
    });
  });
});

describe('downstreamResponseHeaders', () => {
  it('keeps end-to-end headers (set-cookie arrays too) and drops hop-by-hop ones', () => {
    expect(
      downstreamResponseHeaders({
        'content-type': 'text/plain',
        'content-length': '5',
        'set-cookie': ['a=1', 'b=2'],
        connection: 'close, x-hop',
        'x-hop': 'y',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
      }),
    ).toEqual({ 'content-type': 'text/plain', 'content-length': '5', 'set-cookie': ['a=1', 'b=2'] });
  });
});

describe('parseTarget', () => {
  const at = (rest: string) => parseTarget(`/api/v2/endpoints/workloads/${W}${rest}`);

  it('gives the path after the workload id, with a leading slash, for every form', () => {
    expect(at('')).toEqual({ workloadId: W, path: '/', query: '', protonId: null });
    expect(at('/')).toEqual({ workloadId: W, path: '/', query: '', protonId: null });
    expect(at('?a=1')).toEqual({ workloadId: W, path: '/', query: '?a=1', protonId: null });
    expect(at('/v1/m:predict/')).toMatchObject({ path: '/v1/m:predict/' });
  });

  it('keeps the raw query except protonId, which selects the proton (last one wins)', () => {
    expect(at('/p%20q?x=a%2Fb&protonId=p1&y&z=1&protonId=p2&z=2')).toEqual({ workloadId: W, path: '/p%20q', query: '?x=a%2Fb&y&z=1&z=2', protonId: 'p2' });
    expect(at('/p?proton%49d=p3')).toMatchObject({ query: '', protonId: 'p3' });
    expect(at('/p?protonId=')).toMatchObject({ query: '', protonId: null });
    expect(at('/p?a=%E0%A4%A')).toMatchObject({ query: '?a=%E0%A4%A' });
  });

  it('refuses URLs outside the data plane', () => {
    expect(parseTarget('/api/v2/workloads/x')).toBeNull();
  });
});

describe('RoundRobin', () => {
  it('cycles per key, independently', () => {
    const rr = new RoundRobin();
    const picks = Array.from({ length: 5 }, () => rr.pick('w/p', ['a', 'b']));
    expect(picks).toEqual(['a', 'b', 'a', 'b', 'a']);
    expect(rr.pick('other', ['x', 'y', 'z'])).toBe('x');
    expect(rr.pick('w/p', ['a', 'b'])).toBe('b');
  });

  it('keeps spreading when the list changes and forgets keys beyond its bound', () => {
    const rr = new RoundRobin(2);
    expect([rr.pick('k', ['a']), rr.pick('k', ['a', 'b']), rr.pick('k', ['a', 'b', 'c'])]).toEqual(['a', 'b', 'c']);
    rr.pick('k2', ['a']);
    rr.pick('k3', ['a', 'b']);
    expect(rr.pick('k', ['a', 'b'])).toBe('a');
    expect(() => rr.pick('k', [])).toThrow();
  });
});
