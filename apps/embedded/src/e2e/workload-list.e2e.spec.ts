import { ApiClient, seeded, waitFor } from '@wcp/testing';
import { createUser, expectValidationError, queryString, TestUser, waitForStatus } from './api.helpers';
import { echoArtifact, startDistributedSystem, startEmbeddedSystem, System } from './system.harness';

/**
 * `GET /workloads` against an independent model: a plain array of what the test created,
 * filtered and sorted here by the rules of API.md §1/§3. Data and most queries come from a
 * seeded generator, so a failure reproduces with the same seed.
 *
 * Model rules: filters AND together, values inside one array filter OR together; `search` is a
 * case-insensitive substring of name or description, or a case-insensitive id prefix; tag
 * filters match any tag. Sort ties are broken by id in the sort's direction; `name` sorts
 * case-insensitively, `importance` ascending is low → critical, `status` sorts by its string.
 * Creating deploys (API.md §3): the model says which workloads stay up and which are stopped,
 * and the seed waits until the server agrees before any query.
 */
const SEED = 20261128;
const WORKLOADS = 36;

interface Model {
  id: string;
  name: string;
  description: string | null;
  importance: string;
  tags: Array<{ name: string; value: string }>;
  creatorId: string;
  artifactId: string;
  artifactStatus: 'draft' | 'locked';
  status: string;
  createdAt: string;
  updatedAt: string;
}

interface Filters {
  search?: string;
  status?: string[];
  importance?: string[];
  ids?: string[];
  createdBy?: string;
  artifactId?: string;
  artifactStatus?: string[];
  tagKeys?: string[];
  tagValues?: string[];
}

const ARRAY_FILTERS = ['status', 'importance', 'ids', 'artifactStatus', 'tagKeys', 'tagValues'] as const;
const IMPORTANCE_RANK: Record<string, number> = { low: 0, moderate: 1, high: 2, critical: 3 };
const ORDER_FIELDS = ['name', 'createdAt', 'updatedAt', 'status', 'importance'];

/** What the seed does with a workload after creating (which deploys it). */
type Life = 'parked' | 'up' | 'bounced';

function modelFilter(all: Model[], f: Filters, visibleTo: string | null): Model[] {
  const anyOf = (values: string[] | undefined, actual: string[]) => !values?.length || values.some((v) => actual.includes(v));
  return all.filter((w) => {
    if (visibleTo && w.creatorId !== visibleTo) return false;
    if (f.search) {
      const s = f.search.toLowerCase();
      const hit = w.name.toLowerCase().includes(s) || (w.description ?? '').toLowerCase().includes(s) || w.id.startsWith(s);
      if (!hit) return false;
    }
    return (
      anyOf(f.status, [w.status]) &&
      anyOf(f.importance, [w.importance]) &&
      anyOf(f.ids, [w.id]) &&
      (!f.createdBy || f.createdBy === w.creatorId) &&
      (!f.artifactId || f.artifactId === w.artifactId) &&
      anyOf(f.artifactStatus, [w.artifactStatus]) &&
      anyOf(f.tagKeys, w.tags.map((t) => t.name)) &&
      anyOf(f.tagValues, w.tags.map((t) => t.value))
    );
  });
}

function modelSort(items: Model[], orderBy = '-createdAt'): Model[] {
  const direction = orderBy.startsWith('-') ? -1 : 1;
  const field = orderBy.replace(/^-/, '');
  const key = (w: Model): string | number =>
    field === 'name' ? w.name.toLowerCase() : field === 'importance' ? IMPORTANCE_RANK[w.importance] : (w[field as keyof Model] as string);
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return [...items].sort((a, b) => (cmp(key(a), key(b)) || cmp(a.id, b.id)) * direction);
}

/** Query pairs for filters, arrays as repeated keys or as one comma-separated value. */
function toPairs(f: Filters, form: 'repeated' | 'comma', extra: Array<[string, string]> = []): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(f)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (form === 'comma') pairs.push([key, value.join(',')]);
      else for (const v of value) pairs.push([key, v]);
    } else pairs.push([key, value]);
  }
  return [...pairs, ...extra];
}

describe.each([
  ['embedded', () => startEmbeddedSystem()],
  ['distributed (Kafka + FerretDB, three processes)', () => startDistributedSystem()],
])('GET /workloads against a model — %s', (_mode, start) => {
  let system: System;
  let uma: TestUser;
  let vic: TestUser;
  const model: Model[] = [];
  const lives = new Map<string, Life>();
  const rng = seeded(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)];
  const subset = <T>(items: readonly T[], p: number): T[] => items.filter(() => rng() < p);

  const NAMES = ['Alpha', 'alpha', 'ALPHA-one', 'beta', 'Beta', 'gamma ray', 'Delta.v1 (beta)+', 'epsilon', 'Zeta', 'eta', 'Theta', 'iota_x'];
  const DESCRIPTIONS = [null, null, 'serves images', 'Image Classifier', 'text model', 'fraud scoring', 'Beta release candidate', 'uses [brackets] and 100%'];
  const TAG_KEYS = ['team', 'env', 'tier', 'cost-center'];
  const TAG_VALUES = ['ml', 'prod', 'dev', 'gold', 'a', 'b'];
  const IMPORTANCES = ['critical', 'high', 'moderate', 'low'];

  const get = async (client: ApiClient, pairs: Array<[string, string]>) => {
    const response = await client.get(`/api/v2/workloads${queryString(pairs)}`);
    if (response.status !== 200) throw new Error(`GET /workloads${queryString(pairs)}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const clientFor = (as: 'admin' | 'uma') => (as === 'admin' ? system.api : uma.api);
  const visibleFor = (as: 'admin' | 'uma') => (as === 'admin' ? null : uma.id);

  /** `next`/`previous` are absolute, same path, same query in the same order, only offset changed. */
  const expectLink = (link: string | null, requestPairs: Array<[string, string]>, offset: number | null) => {
    if (offset === null) {
      expect(link).toBeNull();
      return;
    }
    expect(link).not.toBeNull();
    const url = new URL(link!);
    expect(`${url.origin}${url.pathname}`).toBe(`${system.baseUrl}/api/v2/workloads`);
    const params = [...url.searchParams.entries()];
    expect(params.filter(([k]) => k !== 'offset')).toEqual(requestPairs.filter(([k]) => k !== 'offset'));
    expect(params.filter(([k]) => k === 'offset')).toEqual([['offset', String(offset)]]);
  };

  beforeAll(async () => {
    system = await start();
    try {
      await seed();
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : error}\n--- system output (tail):\n${system.logs().slice(-6000)}`);
    }
  }, 300_000);

  async function seed() {
    uma = await createUser(system, 'uma');
    vic = await createUser(system, 'vic');

    // Locked artifacts back many workloads; a draft bound first and locked afterwards shows as locked too.
    const artifact = async (user: TestUser, name: string, lock: boolean) => {
      const a = (await user.api.post('/api/v2/artifacts', echoArtifact(name))).body;
      if (lock) expect((await user.api.patch(`/api/v2/artifacts/${a.id}`, { status: 'locked' })).status).toBe(200);
      return a.id as string;
    };
    const shared: Record<string, string> = { [uma.id]: await artifact(uma, 'uma-shared', true), [vic.id]: await artifact(vic, 'vic-shared', true) };
    const lockLater: string[] = [];

    for (let i = 0; i < WORKLOADS; i++) {
      const user = rng() < 0.6 ? uma : vic;
      const mode = rng();
      let artifactId: string | undefined;
      let artifactStatus: 'draft' | 'locked' = 'draft';
      if (mode < 0.3) {
        artifactId = shared[user.id];
        artifactStatus = 'locked';
      } else if (mode < 0.45) {
        artifactId = await artifact(user, `late-${i}`, false);
        lockLater.push(artifactId);
      }
      const body = {
        name: rng() < 0.5 ? pick(NAMES) : `${pick(NAMES)} ${i}`,
        description: pick(DESCRIPTIONS),
        importance: pick(IMPORTANCES),
        tags: subset(TAG_KEYS, 0.4).map((name) => ({ name, value: pick(TAG_VALUES) })),
        ...(artifactId ? { artifactId } : { artifact: echoArtifact(`inline-${i}`) }),
      };
      const created = await user.api.post('/api/v2/workloads', body);
      if (created.status !== 201) throw new Error(`seed ${i}: ${created.status} ${JSON.stringify(created.body)}`);
      const w = created.body;
      expect({ status: w.status, protonId: typeof w.protonId }).toEqual({ status: 'submitted', protonId: 'string' });
      // A quarter stay up (a third of those are stopped later, once up); the rest are stopped at once.
      const fate = rng();
      const life: Life = fate < 1 / 12 ? 'bounced' : fate < 0.25 ? 'up' : 'parked';
      lives.set(w.id, life);
      if (life === 'parked') expect((await user.api.post(`/api/v2/workloads/${w.id}/stop`)).status).toBe(202);
      model.push({
        id: w.id,
        name: body.name,
        description: body.description,
        importance: body.importance,
        tags: body.tags,
        creatorId: user.id,
        artifactId: w.artifactId,
        artifactStatus,
        status: life === 'up' ? 'running' : 'stopped',
        createdAt: w.createdAt,
        updatedAt: w.updatedAt,
      });
    }
    // At rest before anything else changes them: stopped, or up and running. (An artifact lock
    // projected while the runtime records a status can lose that status in the read model.)
    for (const m of model) {
      const client = m.creatorId === uma.id ? uma.api : vic.api;
      await waitForStatus(client, m.id, lives.get(m.id) === 'parked' ? 'stopped' : 'running');
    }
    // Lock every other late artifact after it was bound.
    for (const [n, id] of lockLater.entries()) {
      if (n % 2 !== 0) continue;
      const owner = model.find((m) => m.artifactId === id)!;
      const client = owner.creatorId === uma.id ? uma.api : vic.api;
      expect((await client.patch(`/api/v2/artifacts/${id}`, { status: 'locked' })).status).toBe(200);
      owner.artifactStatus = 'locked';
    }
    // Renames and re-prioritizations move updatedAt away from createdAt order.
    for (const m of subset(model, 0.2)) {
      const client = m.creatorId === uma.id ? uma.api : vic.api;
      const change = { name: `${pick(NAMES)} renamed`, importance: pick(IMPORTANCES) };
      const patched = await client.patch(`/api/v2/workloads/${m.id}`, change);
      expect(patched.status).toBe(200);
      Object.assign(m, change);
    }
    // Running ones stay so (a start is a no-op); the bounced ones are stopped now.
    for (const m of model.filter((x) => lives.get(x.id) !== 'parked')) {
      const client = m.creatorId === uma.id ? uma.api : vic.api;
      expect((await client.post(`/api/v2/workloads/${m.id}/start`)).status).toBe(200);
      if (lives.get(m.id) === 'bounced') expect((await client.post(`/api/v2/workloads/${m.id}/stop`)).status).toBe(202);
    }
    // Status and updatedAt are the server's; read them one by one (not via the list under test)
    // once two consecutive readings agree, so a runtime moving statuses cannot race the queries.
    const snapshot = async () => {
      const docs: any[] = [];
      for (const m of model) docs.push((await system.api.get(`/api/v2/workloads/${m.id}`)).body);
      return docs;
    };
    let last = await snapshot();
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await snapshot();
        const same = JSON.stringify(now.map((w) => [w.status, w.updatedAt])) === JSON.stringify(last.map((w) => [w.status, w.updatedAt]));
        last = now;
        return same && now.every((w) => !['submitted', 'provisioning', 'launching', 'stopping'].includes(w.status));
      },
      'statuses to settle',
      60_000,
    );
    for (const [n, w] of last.entries()) {
      const m = model[n];
      // updatedAt is the server's clock; everything the model filters on is its own, and agrees.
      m.updatedAt = w.updatedAt;
      expect({ name: w.name, importance: w.importance, tags: w.tags, creator: w.creator.id, artifactStatus: w.artifact.status, status: w.status }).toEqual({
        name: m.name,
        importance: m.importance,
        tags: m.tags,
        creator: m.creatorId,
        artifactStatus: m.artifactStatus,
        status: m.status,
      });
    }
    expect(new Set(model.map((m) => m.status)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(model.map((m) => m.artifactStatus)).size).toBe(2);
  }

  afterAll(async () => {
    await system?.stop();
  });

  /** Hand-picked filters covering every parameter, then generated combinations. */
  const cases = (): Array<{ label: string; filters: Filters; as: 'admin' | 'uma' }> => {
    const ids = model.map((m) => m.id);
    const manual: Filters[] = [
      {},
      { search: 'alpha' },
      { search: 'ALPHA' },
      { search: 'bEtA' },
      { search: 'image' },
      { search: 'gamma ray' },
      { search: '.v1 (beta)+' },
      { search: '[brackets] and 100%' },
      { search: 'renamed' },
      { search: ids[5].slice(0, 20) },
      { search: ids[5].slice(0, 20).toUpperCase() },
      { search: ids[0].slice(0, 8) },
      { search: 'no-such-thing' },
      { status: ['stopped'] },
      { status: ['submitted', 'provisioning', 'launching', 'running'] },
      { status: ['stopping', 'stopped'] },
      { status: ['errored'] },
      { importance: ['critical'] },
      { importance: ['low', 'high'] },
      { ids: [ids[0], ids[7], ids[20]] },
      { ids: [ids[3]] },
      { ids: ['bbbbbbbbbbbbbbbbbbbbbbbb'] },
      { createdBy: uma.id },
      { createdBy: vic.id },
      { artifactId: model.find((m) => m.artifactStatus === 'locked' && model.filter((o) => o.artifactId === m.artifactId).length > 1)!.artifactId },
      { artifactId: model[1].artifactId },
      { artifactStatus: ['locked'] },
      { artifactStatus: ['draft'] },
      { artifactStatus: ['draft', 'locked'] },
      { tagKeys: ['team'] },
      { tagKeys: ['env', 'tier'] },
      { tagValues: ['prod'] },
      { tagValues: ['gold', 'ml'] },
      { tagKeys: ['team'], tagValues: ['a', 'b'] },
      { search: 'a', importance: ['low', 'moderate'], artifactStatus: ['draft'] },
      { createdBy: vic.id, status: ['stopped'], tagKeys: ['cost-center', 'env'] },
    ];
    const generated: Filters[] = [];
    for (let n = 0; n < 24; n++) {
      const f: Filters = {};
      if (rng() < 0.3) f.search = pick([...NAMES, 'a', 'e', 'model', 'ta']).slice(0, 1 + Math.floor(rng() * 5));
      if (rng() < 0.3) f.status = subset(['stopped', 'submitted', 'stopping', 'running'], 0.5);
      if (rng() < 0.4) f.importance = subset(IMPORTANCES, 0.5);
      if (rng() < 0.15) f.ids = subset(ids, 0.3);
      if (rng() < 0.25) f.createdBy = pick([uma.id, vic.id]);
      if (rng() < 0.3) f.artifactStatus = [pick(['draft', 'locked'])];
      if (rng() < 0.3) f.tagKeys = subset(TAG_KEYS, 0.5);
      if (rng() < 0.3) f.tagValues = subset(TAG_VALUES, 0.4);
      for (const key of ARRAY_FILTERS) if (f[key]?.length === 0) delete f[key];
      generated.push(f);
    }
    return [
      ...manual.map((filters) => ({ label: JSON.stringify(filters), filters, as: 'admin' as const })),
      ...generated.map((filters) => ({ label: `generated ${JSON.stringify(filters)}`, filters, as: 'admin' as const })),
      ...[...manual.slice(0, 14), ...generated.slice(0, 8)].map((filters) => ({ label: `as uma ${JSON.stringify(filters)}`, filters, as: 'uma' as const })),
    ];
  };

  it('filters like the model, in both array forms, for admin and a plain user', async () => {
    const failures: string[] = [];
    let nonEmpty = 0;
    for (const { label, filters, as } of cases()) {
      const expected = modelSort(modelFilter(model, filters, visibleFor(as))).map((m) => m.id);
      if (expected.length > 0) nonEmpty++;
      for (const form of ['repeated', 'comma'] as const) {
        const pairs = toPairs(filters, form, [['limit', '100']]);
        const page = await get(clientFor(as), pairs);
        const actual = page.data.map((w: any) => w.id);
        if (JSON.stringify(actual) !== JSON.stringify(expected) || page.totalCount !== expected.length || page.count !== expected.length) {
          failures.push(`${label} [${form}]: expected ${expected.length} ${JSON.stringify(expected)}, got totalCount=${page.totalCount} count=${page.count} ${JSON.stringify(actual)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(nonEmpty).toBeGreaterThan(30);
  });

  it('orders by every field, both directions, ties broken by id in the same direction', async () => {
    const failures: string[] = [];
    const filterSets: Filters[] = [{}, { artifactStatus: ['locked'] }, { search: 'a' }, { importance: ['high', 'low'] }];
    for (const field of ORDER_FIELDS) {
      for (const orderBy of [field, `-${field}`]) {
        for (const filters of filterSets) {
          for (const as of ['admin', 'uma'] as const) {
            const expected = modelSort(modelFilter(model, filters, visibleFor(as)), orderBy).map((m) => m.id);
            const page = await get(clientFor(as), toPairs(filters, 'repeated', [['orderBy', orderBy], ['limit', '100']]));
            const actual = page.data.map((w: any) => w.id);
            if (JSON.stringify(actual) !== JSON.stringify(expected)) {
              const show = (ids: string[]) => ids.map((id) => { const m = model.find((x) => x.id === id)!; return `${id.slice(-6)}:${field === 'importance' ? m.importance : (m[field as keyof Model] as string)}`; });
              failures.push(`orderBy=${orderBy} as ${as} ${JSON.stringify(filters)}:\n  expected ${show(expected).join(' ')}\n  actual   ${show(actual).join(' ')}`);
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // The data really has ties to break.
    expect(new Set(model.map((m) => m.name.toLowerCase())).size).toBeLessThan(model.length);
    expect(new Set(model.map((m) => m.importance)).size).toBe(4);
  });

  it('defaults to -createdAt and a limit of 10', async () => {
    const page = await get(system.api, []);
    const expected = modelSort(model, '-createdAt');
    expect(page).toMatchObject({ totalCount: model.length, count: 10, previous: null });
    expect(page.data.map((w: any) => w.id)).toEqual(expected.slice(0, 10).map((m) => m.id));
    expectLink(page.next, [], 10);
  });

  it('pages with offset/limit and absolute next/previous links that change only offset', async () => {
    const failures: string[] = [];
    const plans: Array<{ filters: Filters; orderBy?: string; limit: number; form: 'repeated' | 'comma' }> = [
      { filters: {}, limit: 7, form: 'repeated' },
      { filters: {}, orderBy: 'name', limit: 5, form: 'repeated' },
      { filters: { importance: ['low', 'moderate', 'high'] }, orderBy: '-importance', limit: 4, form: 'repeated' },
      { filters: { importance: ['low', 'moderate', 'high'] }, orderBy: '-importance', limit: 4, form: 'comma' },
      { filters: { search: 'a', tagKeys: ['team', 'env'] }, orderBy: 'updatedAt', limit: 3, form: 'comma' },
      { filters: { status: ['stopped'] }, orderBy: '-status', limit: 100, form: 'repeated' },
      { filters: {}, orderBy: 'createdAt', limit: 1, form: 'repeated' },
    ];
    for (const plan of plans) {
      const expected = modelSort(modelFilter(model, plan.filters, null), plan.orderBy).map((m) => m.id);
      const base = toPairs(plan.filters, plan.form, plan.orderBy ? [['orderBy', plan.orderBy]] : []);
      // Walk by computing offsets ourselves…
      for (let offset = 0; offset < expected.length + plan.limit; offset += plan.limit) {
        const pairs: Array<[string, string]> = [...base, ['offset', String(offset)], ['limit', String(plan.limit)]];
        const page = await get(system.api, pairs);
        const want = expected.slice(offset, offset + plan.limit);
        expect(page.totalCount).toBe(expected.length);
        expect(page.count).toBe(want.length);
        if (JSON.stringify(page.data.map((w: any) => w.id)) !== JSON.stringify(want)) failures.push(`${JSON.stringify(plan)} offset ${offset}`);
        expectLink(page.next, pairs, offset + plan.limit < expected.length ? offset + plan.limit : null);
        expectLink(page.previous, pairs, offset > 0 ? Math.max(0, offset - plan.limit) : null);
      }
      // …and by following `next` from the first page.
      const walked: string[] = [];
      let url: string | null = `/api/v2/workloads${queryString([...base, ['limit', String(plan.limit)]])}`;
      for (let guard = 0; url && guard < 100; guard++) {
        const page: any = (await system.api.get(url)).body;
        walked.push(...page.data.map((w: any) => w.id));
        url = page.next ? page.next.slice(system.baseUrl.length) : null;
      }
      expect(walked).toEqual(expected);
    }
    // Past the end: empty page, previous still points back one page.
    const pairs: Array<[string, string]> = [['offset', String(model.length + 5)], ['limit', '10']];
    const beyond = await get(system.api, pairs);
    expect(beyond).toMatchObject({ totalCount: model.length, count: 0, next: null, data: [] });
    expectLink(beyond.previous, pairs, model.length - 5);
    // A previous link never goes below 0.
    const odd: Array<[string, string]> = [['offset', '3'], ['limit', '10']];
    expectLink((await get(system.api, odd)).previous, odd, 0);
    expect(failures).toEqual([]);
  });

  it('treats repeated and comma-separated values alike, also mixed', async () => {
    const mixed = await get(system.api, [['importance', 'low,moderate'], ['importance', 'high'], ['limit', '100']]);
    const expected = modelSort(modelFilter(model, { importance: ['low', 'moderate', 'high'] }, null)).map((m) => m.id);
    expect(mixed.data.map((w: any) => w.id)).toEqual(expected);
  });

  it('rejects invalid list queries with 422', async () => {
    const api = system.api;
    expectValidationError(await api.get('/api/v2/workloads?orderBy=bogus'), { loc: ['query', 'orderBy'] });
    expectValidationError(await api.get('/api/v2/workloads?orderBy=--name'), { loc: ['query', 'orderBy'] });
    expectValidationError(await api.get('/api/v2/workloads?orderBy=id'), { loc: ['query', 'orderBy'] });
    expectValidationError(await api.get('/api/v2/workloads?status=sleeping'));
    expectValidationError(await api.get('/api/v2/workloads?status=stopped,sleeping'));
    expectValidationError(await api.get('/api/v2/workloads?importance=urgent'));
    expectValidationError(await api.get('/api/v2/workloads?artifactStatus=frozen'));
    expectValidationError(await api.get(`/api/v2/workloads?search=${'x'.repeat(101)}`), { loc: ['query', 'search'] });
    expect((await api.get(`/api/v2/workloads?search=${'x'.repeat(100)}`)).body).toMatchObject({ totalCount: 0, data: [] });
    expectValidationError(await api.get('/api/v2/workloads?limit=0'), { loc: ['query', 'limit'] });
    expectValidationError(await api.get('/api/v2/workloads?limit=101'), { loc: ['query', 'limit'] });
    expectValidationError(await api.get('/api/v2/workloads?offset=-1'), { loc: ['query', 'offset'] });
    expectValidationError(await api.get('/api/v2/workloads?sort=name'), { loc: ['query', 'sort'], type: 'extra_forbidden' });
  });
});
