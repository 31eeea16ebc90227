import { ROLE_PERMISSIONS, ROUTE_POLICY } from '@wcp/access';
import {
  CreateGroupBody,
  CreateOrgBody,
  CreateUserBody,
  CreateWorkloadBody,
  InputArtifact,
  PatchArtifactBody,
  Runtime,
  SHARE_RECIPIENT_TYPES,
  SHARE_ROLES,
  StartReplacementBody,
  UpdateSettingsBody,
  UpdateSharedRolesBody,
  UpdateUserBody,
  UpdateWorkloadBody,
} from '@wcp/contracts';
import { z } from 'zod';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const error = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const errors = { '401': error, '403': error, '404': error, '422': error, '429': error };
/** Routes that refuse a request the workload's state does not allow (a replacement in progress, a wrong artifact...). */
const refusals = { '400': error, '409': error, ...errors };
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{24}$' } });
const paging = [
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
];

/** The API version this gateway serves, as `GET /version` reports it and the document's `info.version`. */
export const API_VERSION = { major: 2, minor: 0, versionString: '2.0.0', releasedVersion: '2.0.0' } as const;

let cached: object | null = null;

/** The OpenAPI 3.1 document, built once from the same zod schemas that validate requests. */
export function openApiDocument(): object {
  if (cached) return cached;
  const op = (summary: string, extra: object = {}) => ({ summary, security: [{ bearer: [] }], responses: { '200': { description: 'OK' }, ...errors }, ...extra });
  cached = {
    openapi: '3.1.0',
    info: { title: 'Workload API', version: API_VERSION.versionString, description: 'Create, run, share and observe ML and app workloads.' },
    servers: [{ url: '/api/v2' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', properties: { detail: {} }, required: ['detail'] },
        CreateWorkload: schema(CreateWorkloadBody),
        UpdateWorkload: schema(UpdateWorkloadBody),
        InputArtifact: schema(InputArtifact),
        PatchArtifact: schema(PatchArtifactBody),
        Runtime: schema(Runtime),
        UpdateSettings: schema(UpdateSettingsBody),
        StartReplacement: schema(StartReplacementBody),
        CreateUser: schema(CreateUserBody),
        UpdateUser: schema(UpdateUserBody),
        CreateGroup: schema(CreateGroupBody),
        CreateOrg: schema(CreateOrgBody),
        UpdateSharedRoles: schema(UpdateSharedRolesBody),
        SharedRole: {
          type: 'object',
          properties: { id: { type: 'string' }, name: { type: 'string' }, shareRecipientType: { type: 'string', enum: [...SHARE_RECIPIENT_TYPES] }, role: { type: 'string', enum: [...SHARE_ROLES] } },
          required: ['id', 'name', 'shareRecipientType', 'role'],
        },
      },
    },
    paths: {
      '/health': { get: { summary: 'Health', security: [], responses: { '200': { description: 'OK' } } } },
      '/version': {
        get: op('API version; clients call it to verify a token', {
          responses: {
            '200': {
              description: 'OK',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { major: { type: 'integer' }, minor: { type: 'integer' }, versionString: { type: 'string' }, releasedVersion: { type: 'string' } },
                    required: ['major', 'minor', 'versionString', 'releasedVersion'],
                  },
                  example: API_VERSION,
                },
              },
            },
            '401': error,
            '422': error,
            '429': error,
          },
        }),
      },
      '/workloads': {
        post: op('Create a workload', { requestBody: json('CreateWorkload'), responses: { '201': { description: 'Created' }, ...errors } }),
        get: op('List workloads', { parameters: paging }),
      },
      '/workloads/{id}': {
        get: op('Get a workload', { parameters: [idParam('id')] }),
        patch: op('Update workload metadata', { parameters: [idParam('id')], requestBody: json('UpdateWorkload') }),
        delete: op('Delete a workload', { parameters: [idParam('id')], responses: { '204': { description: 'Deleted' }, '502': error, ...errors } }),
      },
      '/workloads/{id}/start': { post: op('Start', { parameters: [idParam('id')], responses: { '202': { description: 'Accepted' }, '200': { description: 'Already running' }, '409': error, ...errors } }) },
      '/workloads/{id}/stop': { post: op('Stop', { parameters: [idParam('id')], responses: { '202': { description: 'Accepted' }, '200': { description: 'Already stopped' }, ...errors } }) },
      '/workloads/{id}/events': { get: op('Lifecycle events, newest first', { parameters: [idParam('id'), ...paging] }) },
      '/workloads/{id}/settings': {
        get: op('Runtime settings and the replacement in progress ({runtime, replacement})', { parameters: [idParam('id')] }),
        patch: op('Replace the whole runtime: always a rolling replacement on the same artifact', {
          parameters: [idParam('id')],
          requestBody: json('UpdateSettings'),
          responses: { '202': { description: 'Replacement started' }, '200': { description: 'Same runtime: nothing started, the current settings' }, ...refusals },
        }),
      },
      '/workloads/{id}/replacement': {
        post: op('Start a replacement (rollout) to another artifact and/or runtime', {
          description: 'Strategies `blueGreen` and `canary` (with `config.canarySteps`) and `config.analysis` are this project\'s extensions. 409 while one is in progress; 400 across draft/locked; 422 for the same locked artifact.',
          parameters: [idParam('id')],
          requestBody: json('StartReplacement'),
          responses: { '202': { description: 'Replacement started' }, ...refusals },
        }),
        get: op('The current (or last errored) replacement; 404 when there is none', { parameters: [idParam('id')] }),
        delete: op('Cancel the replacement; the previous proton keeps serving', { parameters: [idParam('id')], responses: { '202': { description: 'Cancel accepted' }, ...refusals } }),
      },
      '/workloads/{id}/replacement/resume': {
        post: op('Continue a canary step paused with pauseMinutes: null', {
          description: 'This project\'s extension (not in the public Workload API). No body, or `{}`.',
          'x-extension': true,
          parameters: [idParam('id')],
          responses: { '202': { description: 'Resumed' }, ...refusals },
        }),
      },
      '/workloads/{id}/history': { get: op('Replacements of the workload, newest first', { parameters: [idParam('id'), ...paging] }) },
      '/workloads/{id}/promote': {
        post: op('Lock the running draft artifact (a version is assigned) and reset statistics', {
          description: '422 when the artifact is not a draft, there is no active proton, or a replacement is in progress. No body, or `{}`.',
          parameters: [idParam('id')],
          responses: { '202': { description: 'Promoted: the workload' }, ...refusals },
        }),
      },
      '/otel/workload/{id}/logs': {
        get: op('Replica logs (stdout/stderr), newest first', {
          parameters: [
            idParam('id'),
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'level', in: 'query', description: 'minimum severity, case-insensitive', schema: { type: 'string', enum: ['debug', 'info', 'warn', 'warning', 'error', 'critical'] } },
            { name: 'startTime', in: 'query', description: 'inclusive', schema: { type: 'string', format: 'date-time' } },
            { name: 'endTime', in: 'query', description: 'exclusive', schema: { type: 'string', format: 'date-time' } },
            { name: 'protonId', in: 'query', schema: { type: 'string' } },
          ],
        }),
      },
      '/workloads/{id}/related': { get: op('Related resources', { parameters: [idParam('id')] }) },
      '/workloads/{id}/sharedRoles': {
        get: op('Who the workload is shared with: users, groups and organizations with their roles', {
          parameters: [idParam('id'), ...paging],
          responses: {
            '200': { description: 'Page<SharedRole>', content: { 'application/json': { schema: page('SharedRole') } } },
            ...errors,
          },
        }),
        patch: op('Replace the shared roles', {
          description:
            'Replace semantics: the list afterwards is exactly `roles` without its `NO_ROLE` entries. 1..100 entries, each recipient once, roles case-insensitive, at least one OWNER (else 422). An unknown user, group or organization is a 404 naming it.',
          parameters: [idParam('id')],
          requestBody: json('UpdateSharedRoles'),
          responses: { '204': { description: 'Updated' }, ...errors },
        }),
      },
      '/artifacts': {
        post: op('Create a draft artifact', { requestBody: json('InputArtifact'), responses: { '201': { description: 'Created' }, ...errors } }),
        get: op('List artifacts', { parameters: paging }),
      },
      '/artifacts/{id}': {
        get: op('Get an artifact', { parameters: [idParam('id')] }),
        patch: op('Update or lock an artifact', { parameters: [idParam('id')], requestBody: json('PatchArtifact') }),
        delete: op('Delete an artifact', { parameters: [idParam('id')], responses: { '204': { description: 'Deleted' }, '409': error, ...errors } }),
      },
      '/admin/users': {
        post: op('Create a user (admin)', { requestBody: json('CreateUser'), responses: { '201': { description: 'Created' }, ...errors } }),
        get: op('List users (admin)', { parameters: paging }),
      },
      '/admin/users/{id}': { patch: op('Change a user\'s name, organization or groups (admin)', { parameters: [idParam('id')], requestBody: json('UpdateUser') }) },
      '/admin/groups': {
        post: op('Create a group (admin)', { requestBody: json('CreateGroup'), responses: { '201': { description: 'Created' }, ...errors } }),
        get: op('List groups (admin)', { parameters: paging }),
      },
      '/admin/orgs': {
        post: op('Create an organization (admin)', { requestBody: json('CreateOrg'), responses: { '201': { description: 'Created' }, ...errors } }),
        get: op('List organizations (admin)', { parameters: paging }),
      },
    },
  };
  annotatePolicy(cached as { paths: Record<string, Record<string, Record<string, unknown>>> });
  return cached;
}

function page(item: string) {
  return {
    type: 'object',
    properties: {
      totalCount: { type: 'integer' },
      count: { type: 'integer' },
      next: { type: ['string', 'null'] },
      previous: { type: ['string', 'null'] },
      data: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
    },
    required: ['totalCount', 'count', 'next', 'previous', 'data'],
  };
}

/**
 * Each documented operation says who may call it (`x-required-permission`, and the roles that
 * hold it), from the same ROUTE_POLICY the gateway enforces.
 */
function annotatePolicy(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): void {
  for (const [key, rule] of Object.entries(ROUTE_POLICY)) {
    const [method, route] = key.split(' ');
    const path = route.replace(/^\/api\/v2/, '').replace(/:(\w+)/g, '{$1}');
    const operation = doc.paths[path]?.[method.toLowerCase()];
    if (!operation) continue;
    if (rule.auth === 'workload') {
      operation['x-required-permission'] = rule.permission;
      operation['x-roles'] = Object.entries(ROLE_PERMISSIONS).filter(([, permissions]) => permissions.includes(rule.permission)).map(([role]) => role);
    } else if (rule.auth === 'admin') operation['x-required-permission'] = 'ADMIN';
  }
}
