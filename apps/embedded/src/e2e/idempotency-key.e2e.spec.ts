import { ApiClient } from '@wcp/testing';
import { createUser, TestUser } from './api.helpers';
import { describeOnSystems, echoArtifact } from './system.harness';

/**
 * API.md §1 over HTTP: `Idempotency-Key` (the same request replays the first answer and applies
 * nothing twice; the key with another method, path or body is a 422 with a `detail`; keys are
 * scoped to the caller) and 405 with `Allow` for a method a path does not serve, before
 * authentication. Artifacts are the commands used: creating one deploys nothing. Distributed,
 * a second gateway sees the key the first one claimed (the claim is in the workload service).
 */
describeOnSystems('Idempotency-Key and 405', (system, mode) => {
  let api: ApiClient;
  let alice: TestUser;

  beforeAll(async () => {
    api = system.api;
    alice = await createUser(system, 'idem-alice');
  }, 120_000);

  const artifactCount = async (client: ApiClient, name: string) =>
    (await client.get('/api/v2/artifacts?limit=100')).body.data.filter((a: { name: string }) => a.name === name).length;

  it('replays the first answer for the same request, reordered keys included, and applies it once', async () => {
    const key = { 'idempotency-key': 'e2e-same-request' };
    const first = await api.post('/api/v2/artifacts', echoArtifact('idem-same'), key);
    expect(first.status).toBe(201);
    const again = await api.post('/api/v2/artifacts', echoArtifact('idem-same'), key);
    expect({ status: again.status, id: again.body.id }).toEqual({ status: 201, id: first.body.id });
    const { spec, name } = echoArtifact('idem-same');
    const reordered = await api.request('POST', '/api/v2/artifacts', JSON.stringify({ spec, name }), { ...key, 'content-type': 'application/json' });
    expect({ status: reordered.status, id: reordered.body.id }).toEqual({ status: 201, id: first.body.id });
    expect(await artifactCount(api, 'idem-same')).toBe(1);
  });

  it('answers 422 with a detail for the key reused with another body, path or method, and applies none of them', async () => {
    const key = { 'idempotency-key': 'e2e-reused' };
    const first = await api.post('/api/v2/artifacts', echoArtifact('idem-reused'), key);
    expect(first.status).toBe(201);

    const otherBody = await api.post('/api/v2/artifacts', echoArtifact('idem-reused-other'), key);
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.detail).toEqual(expect.stringContaining('Idempotency-Key'));
    expect(await artifactCount(api, 'idem-reused-other')).toBe(0);

    const otherMethodAndPath = await api.request('PATCH', `/api/v2/artifacts/${first.body.id}`, { description: 'changed' }, key);
    expect(otherMethodAndPath.status).toBe(422);
    expect(otherMethodAndPath.body.detail).toEqual(expect.stringContaining('Idempotency-Key'));
    expect((await api.get(`/api/v2/artifacts/${first.body.id}`)).body.description).toBeNull();

    // The first request still replays.
    const replay = await api.post('/api/v2/artifacts', echoArtifact('idem-reused'), key);
    expect({ status: replay.status, id: replay.body.id }).toEqual({ status: 201, id: first.body.id });
  });

  // Embedded mode has one gateway: there is nothing to cross, so the case exists only distributed.
  if (mode !== 'embedded')
    it('holds a key across gateways', async () => {
    const other = new ApiClient(await system.addGateway!(), api.token);
    const key = { 'idempotency-key': 'e2e-across-gateways' };
    const first = await api.post('/api/v2/artifacts', echoArtifact('idem-across'), key);
    expect(first.status).toBe(201);
    const replay = await other.post('/api/v2/artifacts', echoArtifact('idem-across'), key);
    expect({ status: replay.status, id: replay.body.id }).toEqual({ status: 201, id: first.body.id });
    expect((await other.post('/api/v2/artifacts', echoArtifact('idem-across-other'), key)).status).toBe(422);
  });

  it('scopes a key to its caller: another user with the same key runs its own request', async () => {
    const key = { 'idempotency-key': 'e2e-per-caller' };
    const mine = await api.post('/api/v2/artifacts', echoArtifact('idem-mine'), key);
    const theirs = await alice.api.post('/api/v2/artifacts', echoArtifact('idem-theirs'), key);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('refuses a malformed key with 422', async () => {
    const tooLong = await api.post('/api/v2/artifacts', echoArtifact('idem-bad-key'), { 'idempotency-key': 'k'.repeat(256) });
    expect(tooLong.status).toBe(422);
    expect(await artifactCount(api, 'idem-bad-key')).toBe(0);
  });

  it('answers 405 with Allow for a method a path does not serve, before authentication', async () => {
    const collection = await api.request('DELETE', '/api/v2/artifacts');
    expect(collection.status).toBe(405);
    expect(collection.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(collection.body.detail).toEqual(expect.stringContaining('DELETE'));

    // A static path next to a parameter route: PATCH /workloads/stats is not PATCH /workloads/:id.
    const stats = await api.request('PATCH', '/api/v2/workloads/stats', {});
    expect(stats.status).toBe(405);
    expect(stats.headers.get('allow')).toBe('GET, HEAD');

    const anonymous = await new ApiClient(system.baseUrl).request('PUT', '/api/v2/workloads');
    expect(anonymous.status).toBe(405);
    expect(anonymous.headers.get('allow')).toEqual(expect.stringContaining('POST'));
    expect((await new ApiClient(system.baseUrl).get('/api/v2/workloads')).status).toBe(401);
  });
});
