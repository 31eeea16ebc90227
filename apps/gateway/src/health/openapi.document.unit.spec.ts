import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { GatewayModule } from '../app.module';
import { openApiDocument } from './openapi.document';

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
    expect(documented('PATCH /workloads/{id}/settings')?.requestBody).toEqual({ content: { 'application/json': { schema: { $ref: '#/components/schemas/UpdateSettings' } } } });
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
