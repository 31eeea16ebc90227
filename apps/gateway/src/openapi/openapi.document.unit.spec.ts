import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ROUTE_POLICY } from '@wcp/access';
import { spawnSync } from 'node:child_process';
import { GatewayModule } from '../app.module';
import { documentedRoute, openApiDocument } from './openapi.document';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown; 'x-extension'?: boolean }>> };

/** Every Nest route of the gateway as `METHOD /path`, in the document's `{param}` form under /api/v2. */
function routes(): string[] {
  const controllers = GatewayModule.register({ config: {} as never, bus: {} as never, commands: {} as never, workloadServiceUrl: 'http://x', telemetryServiceUrl: 'http://x' }).controllers ?? [];
  return controllers.flatMap((controller) => {
    const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    return Object.getOwnPropertyNames(controller.prototype).flatMap((name) => {
      if (name === 'constructor') return [];
      const handler = controller.prototype[name];
      const path = Reflect.getMetadata(PATH_METADATA, handler);
      if (path === undefined || typeof handler !== 'function') return [];
      const full = `/${prefix}/${path}`.replace(/\/+/g, '/').replace(/\/$/, '').replace(/^\/api\/v2/, '').replace(/:(\w+)/g, '{$1}');
      return [`${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler)]} ${full}`];
    });
  });
}

describe('openApiDocument', () => {
  const doc = openApiDocument() as Doc;
  const documented = (route: string) => {
    const [method, path] = route.split(' ');
    return doc.paths[path]?.[method.toLowerCase()];
  };

  it('documents the settings, replacement, history and promote routes with their statuses', () => {
    const expected: Record<string, string[]> = {
      'GET /workloads/{id}/settings': ['200', '404'],
      'PATCH /workloads/{id}/settings': ['200', '202', '400', '404', '409', '422'],
      'POST /workloads/{id}/replacement': ['202', '400', '404', '409', '422'],
      'GET /workloads/{id}/replacement': ['200', '404'],
      'DELETE /workloads/{id}/replacement': ['202', '404', '409'],
      'POST /workloads/{id}/replacement/resume': ['202', '404', '409'],
      'GET /workloads/{id}/history': ['200', '404', '422'],
      'POST /workloads/{id}/promote': ['202', '404', '409', '422'],
    };
    const served = routes();
    for (const [route, statuses] of Object.entries(expected)) {
      expect(served).toContain(route);
      expect(Object.keys(documented(route)?.responses ?? {})).toEqual(expect.arrayContaining(statuses));
    }
    expect(documented('POST /workloads/{id}/replacement/resume')?.['x-extension']).toBe(true);
  });

  it('describes request bodies with the zod schemas that validate them', () => {
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } }).components.schemas;
    expect(documented('PATCH /workloads/{id}/settings')?.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/UpdateSettings' }, example: { runtime: { containerGroups: [{ name: 'default', replicaCount: 2 }] } } } },
    });
    expect(schemas.UpdateSettings.required).toEqual(['runtime']);
    expect(Object.keys(schemas.StartReplacement.properties ?? {})).toEqual(['artifactId', 'strategy', 'config', 'runtime']);
    expect(schemas.StartReplacement.required).toEqual(['artifactId']);
  });
});

describe('openApiDocument — sharing and identity', () => {
  const doc = openApiDocument() as Doc & { components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } };

  it('documents the sharing and identity routes, with the permission ROUTE_POLICY requires', () => {
    const shared = doc.paths['/workloads/{id}/sharedRoles'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(shared.patch.responses as object)).toEqual(expect.arrayContaining(['204', '403', '404', '422']));
    expect(shared.patch['x-required-permission']).toBe('CAN_SHARE');
    expect(shared.patch['x-roles']).toEqual(['OWNER']);
    expect(shared.get['x-roles']).toEqual(['OWNER', 'USER']);
    expect((doc.paths['/workloads/{id}'] as Record<string, Record<string, unknown>>).get['x-roles']).toEqual(['OWNER', 'USER', 'CONSUMER']);
    expect(doc.components.schemas.UpdateSharedRoles.required).toEqual(['operation', 'roles']);
    for (const route of ['/admin/users/{id}', '/admin/groups', '/admin/orgs']) expect(doc.paths[route]).toBeDefined();
    expect((doc.paths['/admin/orgs'] as Record<string, Record<string, unknown>>).post['x-required-permission']).toBe('ADMIN');
  });
});

describe('openApiDocument — every route, valid OpenAPI 3.1', () => {
  const doc = openApiDocument() as Doc & { components: { schemas: Record<string, Record<string, unknown>> } };

  it('documents every route of ROUTE_POLICY, and nothing the gateway does not serve', () => {
    const missing = Object.keys(ROUTE_POLICY).filter((key) => {
      const { methods, path } = documentedRoute(key);
      return methods.some((m) => !doc.paths[path]?.[m]);
    });
    expect(missing).toEqual([]);
    const policed = new Set(Object.keys(ROUTE_POLICY).flatMap((key) => documentedRoute(key).methods.map((m) => `${m} ${documentedRoute(key).path}`)));
    const extra = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)).filter((op) => !policed.has(op));
    expect(extra).toEqual([]);
  });

  it('is valid OpenAPI 3.1 by the schema of the specification', () => {
    // The validator is an ES module; it runs in its own node process (Jest here loads CommonJS).
    const script = `import { Validator } from '@seriousme/openapi-schema-validator';
      const doc = JSON.parse(await new Response(process.stdin).text());
      const validator = new Validator();
      const result = await validator.validate(doc);
      process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(doc), cwd: __dirname, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ valid: true, version: '3.1', errors: null });
  });

  it('states what the server enforces: bounds, enums, artifactId xor artifact, one primary container, required bodies', () => {
    const list = doc.paths['/workloads'].get as unknown as { parameters: Array<{ name: string; schema: Record<string, unknown> }> };
    const param = (name: string) => list.parameters.find((p) => p.name === name)?.schema;
    expect(param('limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 10 });
    expect(param('offset')).toMatchObject({ type: 'integer', minimum: 0 });
    expect(param('status')).toMatchObject({ type: 'array', items: { enum: expect.arrayContaining(['running', 'stopped']) } });
    expect(doc.components.schemas.CreateWorkload.oneOf).toHaveLength(2);
    expect(JSON.stringify(doc.components.schemas.InputArtifact)).toContain('"maxContains":1');
    const create = doc.paths['/workloads'].post as unknown as { requestBody: { required: boolean } };
    expect(create.requestBody.required).toBe(true);
    const series = doc.paths['/workloads/{id}/stats/{metricName}'].get as unknown as { parameters: Array<{ name: string; schema: Record<string, unknown> }> };
    expect(series.parameters.find((p) => p.name === 'resolution')?.schema).toMatchObject({ enum: ['PT1M', 'PT5M', 'PT1H', 'P1D', 'P7D', 'P1M'] });
    expect(series.parameters.find((p) => p.name === 'responseTimeQuantile')?.schema).toMatchObject({ minimum: 0, maximum: 1 });
  });

  it('documents Idempotency-Key on every mutating route, and the statuses of the bus', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (path.startsWith('/endpoints/')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        if (method === 'get') continue;
        const names = ((operation as unknown as { parameters?: Array<{ name: string }> }).parameters ?? []).map((p) => p.name);
        expect([method, path, names]).toEqual([method, path, expect.arrayContaining(['Idempotency-Key'])]);
        expect([method, path, Object.keys(operation.responses)]).toEqual([method, path, expect.arrayContaining(['401', '422', '429', '503', '504'])]);
      }
    }
  });

  it('links a created workload to the operations on it, for stateful testing', () => {
    const created = (doc.paths['/workloads'].post.responses['201'] as { links: Record<string, { operationId: string }> }).links;
    expect(Object.values(created).map((l) => l.operationId)).toEqual(expect.arrayContaining(['getWorkload', 'updateWorkload', 'deleteWorkload', 'startWorkload', 'stopWorkload']));
  });
});
