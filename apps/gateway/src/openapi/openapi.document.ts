import { ROLE_PERMISSIONS, ROUTE_POLICY } from '@wcp/access';
import {
  ContainerGroupSpec,
  CreateGroupBody,
  CreateOrgBody,
  CreateUserBody,
  CreateWorkloadBody,
  IMPORTANCES,
  InputArtifact,
  LOG_LEVELS,
  Memory,
  METRIC_NAMES,
  PatchArtifactBody,
  REPLACEMENT_STATUSES,
  REPLACEMENT_STRATEGIES,
  SHARE_RECIPIENT_TYPES,
  SHARE_ROLES,
  StartReplacementBody,
  UpdateSettingsBody,
  UpdateSharedRolesBody,
  UpdateUserBody,
  UpdateWorkloadBody,
  WORKLOAD_EVENT_TYPES,
  WORKLOAD_STATUSES,
} from '@wcp/contracts';
import { z } from 'zod';
import { ArtifactListQuery } from '../artifacts/artifacts.controller';
import { LogsQuery } from '../logs/logs.controller';
import { HistoryQuery } from '../replacements/replacements.controller';
import { ResetQuery, SeriesQuery, StatsQuery, SummaryQuery } from '../stats/stats.controller';
import { PagingQuery } from '../http/validation';
import { EventsQuery, WorkloadListQuery } from '../workloads/workloads.controller';
import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_TTL_HOURS } from '../commands/idempotency-key';
import { DOCS_ASSETS } from './openapi.controller';

/** The API version this gateway serves, as `GET /version` reports it and the document's `info.version`. */
export const API_VERSION = { major: 2, minor: 0, versionString: '2.0.0', releasedVersion: '2.0.0' } as const;

type Json = Record<string, unknown>;
type Operation = Json & { responses: Record<string, unknown> };

/** Memory as a string: the units the server converts (an integer of bytes is the other form). */
const MEMORY_TEXT = '^[1-9][0-9]{0,3}(\\.[0-9]{1,3})?(KB|MB|GB|Ki|Mi|Gi)$';

/**
 * A request schema in JSON Schema 2020-12 from the zod schema that validates it. Refinements
 * zod cannot export are stated here next to the schema they refine: exactly one primary
 * container per group, only the primary has a port, the memory units.
 */
function schema(s: z.ZodType): Json {
  const json = z.toJSONSchema(s, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const out = ctx.jsonSchema as Json;
      if (ctx.zodSchema === ContainerGroupSpec) {
        const containers = (out.properties as Json).containers as Json;
        containers.contains = { type: 'object', properties: { primary: { const: true } }, required: ['primary'] };
        containers.minContains = 1;
        containers.maxContains = 1;
        const item = containers.items as Json;
        item.if = { properties: { primary: { const: true } }, required: ['primary'] };
        item.then = { required: ['port'], properties: { port: { type: 'integer' } } };
        item.else = { properties: { port: { type: 'null' } } };
        out.description = 'Exactly one container of a group is `primary`; it alone has a `port` (1024..65535).';
      }
      if (ctx.zodSchema === Memory) {
        for (const key of Object.keys(out)) delete out[key];
        Object.assign(out, {
          description: 'Bytes, or a string with a decimal (KB, MB, GB) or binary (Ki, Mi, Gi) unit; answers always give bytes.',
          anyOf: [{ type: 'integer', minimum: 1, maximum: 1024 ** 4 }, { type: 'string', pattern: MEMORY_TEXT }],
        });
      }
    },
  }) as Json;
  delete json.$schema;
  return json;
}

/** Query parameters from the zod schema that validates a route's query (arrays: repeated keys, or comma-separated). */
function query(s: z.ZodObject, descriptions: Record<string, string> = {}): Json[] {
  return Object.entries(s.shape).map(([name, field]) => {
    const json = schema(field as z.ZodType);
    const param: Json = { name, in: 'query', required: false, schema: json };
    if (json.type === 'array') Object.assign(param, { style: 'form', explode: true });
    const comma = json.type === 'array' ? 'Repeat the key, or give one comma-separated value; every item must be valid (an empty item is refused).' : undefined;
    const description = [descriptions[name], comma].filter(Boolean).join(' ');
    if (description) param.description = description;
    return param;
  });
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (name: string, example?: unknown) => ({
  required: true,
  content: { 'application/json': { schema: ref(name), ...(example === undefined ? {} : { example }) } },
});
/** Action routes take no body, or `{}`. */
const emptyBody = { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, maxProperties: 0 } } } };
const answer = (description: string, schemaName?: string, example?: unknown) => ({
  description,
  ...(schemaName ? { content: { 'application/json': { schema: ref(schemaName), ...(example === undefined ? {} : { example }) } } } : {}),
});
const error = (description: string, headers?: Json) => ({ description, ...(headers ? { headers } : {}), content: { 'application/json': { schema: ref('Error') } } });

const E = {
  '400': error('Malformed JSON, or a request the resource\'s state refuses as ill-formed (see the operation)'),
  '401': error('Missing or unknown API token', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
  '403': error('The token is valid but lacks the permission (or a limit would be exceeded)'),
  '404': error('Unknown resource, or a workload the caller cannot see at all (no existence leak)'),
  '409': error('The resource\'s state does not allow it now'),
  '413': error('Body over 1 MiB'),
  '422': {
    description: 'Validation error: `detail` lists `{loc, msg, type}`; or a refusal with a string `detail` (an Idempotency-Key reused for another request, a state the operation requires)',
    content: { 'application/json': { schema: ref('Error') } },
  },
  '429': error('Rate limit of the token\'s plane exceeded', { 'Retry-After': { description: 'seconds', schema: { type: 'integer', minimum: 1 } } }),
  '502': error('Done, but a proton could not be stopped'),
  '503': error('A service or the message bus is unreachable'),
  '504': error('The workload service did not answer within COMMAND_TIMEOUT_MS; the command may still be applied, exactly once'),
};
type Code = keyof typeof E;
const pick = (...codes: Code[]) => Object.fromEntries(codes.map((c) => [c, E[c]]));

const ID = { type: 'string', pattern: '^[0-9a-f]{24}$', example: '65f0c0ffee0000000000a001' };
const pathId = (name: string, description = 'An id: 24 lowercase hex characters; any other value names nothing (404).') => ({ name, in: 'path', required: true, description, schema: ID });
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    `Retries with the same key and the same request (method, path, JSON body) answer the first result and apply nothing twice; the same key with another request answers 422. Keys are the caller's own and expire ${IDEMPOTENCY_KEY_TTL_HOURS} h after first use.`,
  schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH, pattern: IDEMPOTENCY_KEY_PATTERN.source },
};

/** A read: the caller's token, the query the route validates. */
const read = (operationId: string, summary: string, ok: Json, options: { params?: Json[]; codes?: Code[]; extra?: Json; more?: Record<string, unknown> } = {}): Operation => ({
  operationId,
  summary,
  security: [{ bearer: [] }],
  parameters: options.params ?? [],
  responses: { ...ok, ...pick('401', ...(options.codes ?? []), '422', '429', '503'), ...(options.more ?? {}) },
  ...(options.extra ?? {}),
});

/** A command: its body (if any), Idempotency-Key, and the statuses of the bus and the aggregate. */
const command = (operationId: string, summary: string, ok: Json, options: { params?: Json[]; body?: Json; codes?: Code[]; extra?: Json; links?: Json } = {}): Operation => ({
  operationId,
  summary,
  security: [{ bearer: [] }],
  parameters: [...(options.params ?? []), idempotencyKey],
  ...(options.body ? { requestBody: options.body } : {}),
  responses: {
    ...ok,
    ...pick('401', ...(options.codes ?? []), ...((options.body ? ['400', '413'] : []) as Code[]), '422', '429', '503', '504'),
  },
  ...(options.extra ?? {}),
});

const W = [pathId('id', 'The workload id.')];
const WORKLOAD_LINKS = (from: string) =>
  Object.fromEntries(
    [
      ['getWorkload', 'GetWorkload'],
      ['updateWorkload', 'UpdateWorkload'],
      ['deleteWorkload', 'DeleteWorkload'],
      ['startWorkload', 'StartWorkload'],
      ['stopWorkload', 'StopWorkload'],
      ['getSettings', 'GetSettings'],
      ['listProtons', 'ListProtons'],
      ['listEvents', 'ListEvents'],
      ['getStats', 'GetStats'],
      ['listSharedRoles', 'ListSharedRoles'],
    ].map(([operationId, name]) => [name, { operationId, parameters: { id: from } }]),
  );

const ECHO_ARTIFACT = {
  name: 'echo',
  spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000 }] }] },
};
const WORKLOAD_EXAMPLE = {
  id: '65f0c0ffee0000000000a001',
  name: 'demo',
  status: 'running',
  importance: 'low',
  type: 'service',
  artifactId: '65f0c0ffee0000000000b001',
  endpoint: 'http://127.0.0.1:8080/api/v2/endpoints/workloads/65f0c0ffee0000000000a001/',
};

/** Response schemas: what every answer carries; more fields may come (clients ignore unknown ones). */
const RESPONSES: Record<string, Json> = {
  Error: {
    type: 'object',
    properties: {
      detail: {
        anyOf: [
          { type: 'string' },
          {
            type: 'array',
            items: {
              type: 'object',
              properties: { loc: { type: 'array', items: { type: ['string', 'integer'] } }, msg: { type: 'string' }, type: { type: 'string' } },
              required: ['loc', 'msg', 'type'],
            },
          },
        ],
      },
    },
    required: ['detail'],
  },
  Workload: {
    type: 'object',
    properties: {
      id: ID,
      name: { type: 'string' },
      description: { type: ['string', 'null'] },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      status: { type: 'string', enum: [...WORKLOAD_STATUSES] },
      importance: { type: 'string', enum: [...IMPORTANCES] },
      type: { const: 'service' },
      artifactId: { type: 'string' },
      protonId: { type: ['string', 'null'] },
      endpoint: { type: 'string' },
      permissions: { type: 'array', items: { type: 'string' } },
      tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string' } }, required: ['name', 'value'] } },
    },
    required: ['id', 'name', 'status', 'importance', 'type', 'artifactId', 'endpoint', 'permissions', 'tags'],
  },
  WorkloadOperation: {
    type: 'object',
    properties: { status: { type: 'string' }, workloadId: ID, trackVia: { type: 'string' } },
    required: ['status', 'workloadId', 'trackVia'],
  },
  Artifact: {
    type: 'object',
    properties: { id: ID, name: { type: 'string' }, status: { type: 'string', enum: ['draft', 'locked'] }, type: { const: 'service' }, version: { type: ['integer', 'null'] } },
    required: ['id', 'name', 'status', 'type'],
  },
  Proton: {
    type: 'object',
    properties: { id: ID, workloadId: ID, status: { type: 'string' }, role: { enum: ['active', 'candidate', null] }, endpoint: { type: 'string' }, replicas: ref('ReplicaCounts') },
    required: ['id', 'workloadId', 'status', 'endpoint'],
  },
  ReplicaCounts: {
    type: 'object',
    description: 'This project\'s addition (docs/autoscaling.md): replicas wanted (the autoscaler\'s last decision, or the fixed count), ready now, and the last scaling reason.',
    properties: { desired: { type: 'integer', minimum: 0 }, ready: { type: 'integer', minimum: 0 }, reason: { type: ['string', 'null'] } },
    required: ['desired', 'ready', 'reason'],
  },
  StatusDetails: {
    type: 'object',
    properties: { overallStatus: { type: 'object' }, replicas: { type: 'array', items: { type: 'object' } }, scale: ref('ReplicaCounts') },
    required: ['overallStatus', 'replicas'],
  },
  Replacement: {
    type: 'object',
    properties: {
      id: ID,
      workloadId: ID,
      status: { type: 'string', enum: [...REPLACEMENT_STATUSES] },
      strategy: { type: 'string', enum: [...REPLACEMENT_STRATEGIES] },
      candidateArtifactId: { type: 'string' },
    },
    required: ['id', 'workloadId', 'status', 'strategy'],
  },
  Settings: { type: 'object', properties: { runtime: { type: 'object' }, replacement: { anyOf: [ref('Replacement'), { type: 'null' }] } }, required: ['runtime', 'replacement'] },
  SharedRole: {
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' }, shareRecipientType: { type: 'string', enum: [...SHARE_RECIPIENT_TYPES] }, role: { type: 'string', enum: [...SHARE_ROLES] } },
    required: ['id', 'name', 'shareRecipientType', 'role'],
  },
  WorkloadEvent: {
    type: 'object',
    properties: { id: { type: 'string' }, workloadId: ID, timestamp: { type: 'string', format: 'date-time' }, eventType: { type: 'string', enum: [...WORKLOAD_EVENT_TYPES, 'Proton Scaled'] }, actorId: { type: ['string', 'null'] }, details: { type: 'object' } },
    required: ['id', 'workloadId', 'timestamp', 'eventType', 'details'],
  },
  Related: {
    type: 'object',
    properties: { count: { type: 'integer' }, data: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, type: { enum: ['artifact', 'proton', 'replacement'] } }, required: ['id', 'type'] } } },
    required: ['count', 'data'],
  },
  Stats: {
    type: 'object',
    properties: { period: { type: 'object', properties: { start: { type: 'string' }, end: { type: 'string' } }, required: ['start', 'end'] }, metrics: { type: 'object' } },
    required: ['period', 'metrics'],
  },
  Series: {
    type: 'object',
    properties: { metric: { type: 'string', enum: [...METRIC_NAMES] }, summary: { type: 'object' }, buckets: { type: 'array', items: { type: 'object', properties: { period: { type: 'object' }, value: { type: ['number', 'null'] } }, required: ['period', 'value'] } } },
    required: ['metric', 'summary', 'buckets'],
  },
  StatsSummary: {
    type: 'object',
    properties: { workloads: { type: 'object' }, requests: { type: 'object' }, errorRate: { type: 'object' }, responseTime: { type: 'object' }, concurrentRequests: { type: 'object' } },
    required: ['workloads', 'requests', 'errorRate', 'responseTime', 'concurrentRequests'],
  },
  LogEntry: {
    type: 'object',
    properties: { timestamp: { type: 'string' }, level: { type: 'string', enum: [...LOG_LEVELS] }, message: { type: 'string' }, replica: { type: ['string', 'null'] }, protonId: { type: ['string', 'null'] } },
    required: ['timestamp', 'level', 'message'],
  },
  User: { type: 'object', properties: { id: ID, username: { type: 'string' } }, required: ['id', 'username'] },
  CreatedUser: { type: 'object', properties: { id: ID, username: { type: 'string' }, apiToken: { type: 'string' } }, required: ['id', 'username', 'apiToken'] },
  Principal: { type: 'object', properties: { id: ID, name: { type: 'string' } }, required: ['id', 'name'] },
  Health: { type: 'object', properties: { status: { const: 'ok' }, components: { type: 'object' } }, required: ['status', 'components'] },
  Version: {
    type: 'object',
    properties: { major: { type: 'integer' }, minor: { type: 'integer' }, versionString: { type: 'string' }, releasedVersion: { type: 'string' } },
    required: ['major', 'minor', 'versionString', 'releasedVersion'],
  },
};

const page = (item: string) => ({
  type: 'object',
  properties: {
    totalCount: { type: 'integer', minimum: 0 },
    count: { type: 'integer', minimum: 0 },
    next: { type: ['string', 'null'] },
    previous: { type: ['string', 'null'] },
    data: { type: 'array', items: ref(item) },
  },
  required: ['totalCount', 'count', 'next', 'previous', 'data'],
});

/** The data plane: every method, forwarded; what it answers is the workload's. */
function dataPlane(withPath: boolean): Json {
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const parameters = [
    pathId('workloadId', 'The workload to invoke.'),
    ...(withPath ? [{ name: 'path', in: 'path', required: true, description: 'The path at the replica, forwarded as it is (any text; deeper paths are forwarded too).', schema: { type: 'string', minLength: 1 } }] : []),
    // Any text: the data plane forwards the query as it is, and a protonId naming no proton of the workload is a 404.
    { name: 'protonId', in: 'query', required: false, description: 'Send to this proton (e.g. a candidate) instead of the active one; other query parameters go to the replica as they are.', schema: { type: 'string' } },
  ];
  return Object.fromEntries(
    methods.map((method) => [
      method,
      {
        operationId: `invoke${withPath ? 'Path' : 'Root'}${method[0].toUpperCase()}${method.slice(1)}`,
        summary: 'The data plane: forwarded to a ready replica of the workload, as it is',
        description:
          'A pass-through: method, path, query, headers and body go to a replica of the active proton (or `protonId`), and its answer comes back as it is (any status, any media type). Every call is recorded for the statistics. Needs CAN_INVOKE. The body may be up to DATA_PLANE_BODY_LIMIT_BYTES (64 MiB by default), streamed.',
        tags: ['data plane'],
        security: [{ bearer: [] }],
        parameters,
        ...(['get', 'head', 'options', 'trace', 'delete'].includes(method) ? {} : { requestBody: { required: false, content: { '*/*': { schema: {} } } } }),
        responses: {
          default: { description: 'What the workload answered', content: { '*/*': { schema: {} } } },
          ...pick('401', '403', '404', '413', '429'),
          '502': error('The replica failed before answering'),
          '503': error('No ready replica (the workload is stopped, starting, or errored)'),
          '504': error('The replica was silent for DATA_PLANE_UPSTREAM_TIMEOUT_MS'),
        },
      },
    ]),
  );
}

let cached: Json | null = null;

/**
 * The OpenAPI 3.1 document of every route in ROUTE_POLICY, built once from the zod schemas that
 * validate requests (bodies and queries), with every status each route answers.
 */
export function openApiDocument(): Json {
  if (cached) return cached;
  const listOk = (item: string, example?: unknown) => ({ '200': answer(`Page<${item}>`, `Page${item}`, example) });
  const paths: Record<string, Record<string, Operation>> = {
    '/health': {
      get: {
        operationId: 'getHealth',
        summary: 'Health: 200 while the gateway serves; components say what is degraded',
        security: [],
        responses: { '200': answer('OK', 'Health', { status: 'ok', components: { messageBus: 'ok' } }), ...pick('422') },
      },
    },
    '/version': { get: read('getVersion', 'API version; clients call it to verify a token', { '200': answer('OK', 'Version', API_VERSION) }) },
    '/openapi.json': { get: read('getOpenApi', 'This document', { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } }) },
    '/docs': {
      get: {
        operationId: 'getDocs',
        summary: 'A page to browse this document (it asks for the token to fetch it)',
        security: [],
        responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }, ...pick('422') },
      },
    },
    '/docs/{asset}': {
      get: {
        operationId: 'getDocsAsset',
        summary: 'A file of the vendored API browser (swagger-ui-dist)',
        security: [],
        parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(DOCS_ASSETS) } }],
        responses: {
          '200': { description: 'The file', content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } } } },
          ...pick('404', '422'),
        },
      },
    },
    '/workloads': {
      post: command('createWorkload', 'Create a workload and deploy it at once', {
        '201': { ...answer('Created (deploying: submitted → provisioning → launching → running)', 'Workload', WORKLOAD_EXAMPLE), links: WORKLOAD_LINKS('$response.body#/id') },
      }, {
        body: jsonBody('CreateWorkload', { name: 'demo', artifact: ECHO_ARTIFACT }),
        codes: ['403', '404', '409'],
        extra: { description: '`artifactId` xor `artifact` (an inline artifact, created as a draft). 404: unknown artifact; 409: a draft artifact backs at most one workload; 403: the owner\'s limit of active workloads or the runtime\'s capacity; 422 also when an image is not in the operator\'s catalog or a resource bundle is unknown.' },
      }),
      get: read('listWorkloads', 'List the workloads the caller can see', listOk('Workload'), { params: query(WorkloadListQuery, { search: 'name, description or id prefix; case-insensitive' }) }),
    },
    '/workloads/stats': {
      get: read('getWorkloadsStats', 'Statistics over the workloads the caller sees (the filters of the list)', { '200': answer('OK', 'StatsSummary') }, {
        params: query(SummaryQuery),
        codes: ['400'],
        extra: { description: '400 when startTime is after endTime.' },
      }),
    },
    '/workloads/{id}': {
      get: read('getWorkload', 'Get a workload', { '200': answer('OK', 'Workload', WORKLOAD_EXAMPLE) }, { params: W, codes: ['404'] }),
      patch: command('updateWorkload', 'Update name, description, importance, tags (merge; no restart)', { '200': answer('OK', 'Workload') }, { params: W, body: jsonBody('UpdateWorkload', { importance: 'high' }), codes: ['403', '404', '409'] }),
      delete: command('deleteWorkload', 'Delete a workload; every proton is stopped first', { '204': { description: 'Deleted' }, '502': E['502'] }, { params: W, codes: ['403', '404', '409'] }),
    },
    '/workloads/{id}/start': {
      post: command('startWorkload', 'Start', { '202': answer('Starting', 'WorkloadOperation'), '200': answer('Already running or starting', 'WorkloadOperation') }, {
        params: W,
        codes: ['403', '404', '409'],
        extra: { description: '409 while stopping; 403 when the owner\'s limit of active workloads or the runtime\'s capacity (RUNTIME_MAX_CPU, RUNTIME_MAX_MEMORY, RUNTIME_MAX_REPLICAS) would be exceeded; nothing changes then.' },
      }),
    },
    '/workloads/{id}/stop': {
      post: command('stopWorkload', 'Stop, gracefully', { '202': answer('Stopping', 'WorkloadOperation'), '200': answer('Already stopped', 'WorkloadOperation') }, { params: W, codes: ['403', '404', '409'] }),
    },
    '/workloads/{id}/events': { get: read('listEvents', 'Lifecycle events, newest first', listOk('WorkloadEvent'), { params: [...W, ...query(EventsQuery)], codes: ['403', '404'] }) },
    '/workloads/{id}/related': { get: read('listRelated', 'Related artifacts, protons and replacements (not paged)', { '200': answer('OK', 'Related') }, { params: W, codes: ['403', '404'] }) },
    '/workloads/{id}/protons': { get: read('listProtons', 'Protons: active and candidate', listOk('Proton'), { params: [...W, ...query(PagingQuery)], codes: ['403', '404'] }) },
    '/workloads/{id}/protons/{protonId}': {
      get: read('getProton', 'A proton', { '200': answer('OK', 'Proton') }, { params: [...W, pathId('protonId')], codes: ['403', '404'] }),
    },
    '/workloads/{id}/protons/{protonId}/statusDetails': {
      get: read('getStatusDetails', 'Per-replica status snapshot', { '200': answer('OK', 'StatusDetails'), '204': { description: 'No snapshot yet' } }, { params: [...W, pathId('protonId')], codes: ['403', '404'] }),
    },
    '/workloads/{id}/settings': {
      get: read('getSettings', 'Runtime settings and the replacement in progress', { '200': answer('OK', 'Settings') }, { params: W, codes: ['403', '404'] }),
      patch: command('updateSettings', 'Replace the whole runtime: always a rolling replacement on the same artifact', {
        '202': answer('Replacement started', 'Replacement'),
        '200': answer('Same runtime: nothing started, the current settings', 'Settings'),
      }, {
        params: W,
        body: jsonBody('UpdateSettings', { runtime: { containerGroups: [{ name: 'default', replicaCount: 2 }] } }),
        codes: ['403', '404', '409'],
        extra: { description: '409 while a replacement is in progress; 403 when a running workload\'s new runtime would exceed the runtime\'s capacity (nothing starts); 422 also for an unknown resource bundle, a container the artifact does not have, or autoscaling bounds out of order.' },
      }),
    },
    '/workloads/{id}/replacement': {
      post: command('startReplacement', 'Start a replacement (rollout) to another artifact and/or runtime', { '202': answer('Replacement started', 'Replacement') }, {
        params: W,
        body: jsonBody('StartReplacement', { artifactId: '65f0c0ffee0000000000b002', strategy: 'rolling' }),
        codes: ['403', '404', '409'],
        extra: { description: 'Strategies `blueGreen` and `canary` (with `config.canarySteps`) and `config.analysis` are this project\'s extensions. 409 while one is in progress; 400 across draft/locked; 422 for the same locked artifact.' },
      }),
      get: read('getReplacement', 'The current (or last errored) replacement; 404 when there is none', { '200': answer('OK', 'Replacement') }, { params: W, codes: ['403', '404'] }),
      delete: command('cancelReplacement', 'Cancel the replacement; the previous proton keeps serving', { '202': answer('Cancel accepted', 'Replacement') }, { params: W, codes: ['403', '404', '409'] }),
    },
    '/workloads/{id}/replacement/resume': {
      post: command('resumeReplacement', 'Continue a canary step paused with pauseMinutes: null', { '202': answer('Resumed', 'Replacement') }, {
        params: W,
        body: emptyBody,
        codes: ['403', '404', '409'],
        extra: { description: 'This project\'s extension (not in the public Workload API). No body, or `{}`.', 'x-extension': true },
      }),
    },
    '/workloads/{id}/history': { get: read('listHistory', 'Replacements of the workload, newest first', listOk('Replacement'), { params: [...W, ...query(HistoryQuery)], codes: ['403', '404'] }) },
    '/workloads/{id}/promote': {
      post: command('promoteArtifact', 'Lock the running draft artifact (a version is assigned) and reset statistics', { '202': answer('Promoted: the workload', 'Workload') }, {
        params: W,
        body: emptyBody,
        codes: ['403', '404', '409'],
        extra: { description: '422 when the artifact is not a draft, there is no active proton, or a replacement is in progress. No body, or `{}`.' },
      }),
    },
    '/workloads/{id}/stats': {
      get: read('getStats', 'Request statistics of the workload (spec §4)', { '200': answer('OK', 'Stats') }, { params: [...W, ...query(StatsQuery)], codes: ['400', '403', '404'], extra: { description: '400 when startTime is after endTime.' } }),
      delete: command('resetStats', 'Reset statistics: records that arrived before now no longer count', { '204': { description: 'Reset' } }, {
        params: [...W, ...query(ResetQuery)],
        codes: ['400', '403', '404'],
        extra: { description: 'Optionally only of `protonId`, and of records in [startTime, endTime]; 400 when startTime is after endTime.' },
      }),
    },
    '/workloads/{id}/stats/{metricName}': {
      get: read('getStatsSeries', 'One metric in buckets of `resolution`', { '200': answer('OK', 'Series') }, {
        params: [...W, { name: 'metricName', in: 'path', required: true, description: 'Any other name is a 404.', schema: { type: 'string', enum: [...METRIC_NAMES] } }, ...query(SeriesQuery)],
        codes: ['400', '403', '404'],
      }),
    },
    '/workloads/{id}/sharedRoles': {
      get: read('listSharedRoles', 'Who the workload is shared with: users, groups and organizations with their roles', listOk('SharedRole'), { params: [...W, ...query(PagingQuery)], codes: ['403', '404'] }),
      patch: command('updateSharedRoles', 'Replace the shared roles', { '204': { description: 'Updated' } }, {
        params: W,
        body: jsonBody('UpdateSharedRoles', { operation: 'updateRoles', roles: [{ shareRecipientType: 'user', username: 'admin', role: 'OWNER' }] }),
        codes: ['403', '404', '409'],
        extra: {
          description:
            'Replace semantics: the list afterwards is exactly `roles` without its `NO_ROLE` entries. 1..100 entries, each recipient once, roles case-insensitive, at least one OWNER (else 422). An unknown user, group or organization is a 404 naming it.',
        },
      }),
    },
    '/otel/workload/{id}/logs': {
      get: read('listLogs', 'Replica logs (stdout/stderr), newest first', listOk('LogEntry'), {
        params: [...W, ...query(LogsQuery, { level: 'minimum severity, case-insensitive (`warn` = `warning`)', startTime: 'inclusive', endTime: 'exclusive' })],
        codes: ['400', '403', '404'],
        extra: { description: '400 when startTime is after endTime.' },
      }),
    },
    '/endpoints/workloads/{workloadId}': dataPlane(false) as Record<string, Operation>,
    '/endpoints/workloads/{workloadId}/{path}': dataPlane(true) as Record<string, Operation>,
    '/artifacts': {
      post: command('createArtifact', 'Create a draft artifact', {
        '201': { ...answer('Created', 'Artifact'), links: Object.fromEntries(['getArtifact', 'updateArtifact', 'deleteArtifact'].map((op) => [op, { operationId: op, parameters: { id: '$response.body#/id' } }])) },
      }, { body: jsonBody('InputArtifact', ECHO_ARTIFACT), extra: { description: '422 also when an image is not in the operator\'s catalog.' } }),
      get: read('listArtifacts', 'List the caller\'s artifacts', listOk('Artifact'), { params: query(ArtifactListQuery) }),
    },
    '/artifacts/{id}': {
      get: read('getArtifact', 'Get an artifact', { '200': answer('OK', 'Artifact') }, { params: [pathId('id')], codes: ['404'] }),
      patch: command('updateArtifact', 'Rename, describe, or lock (`status: "locked"`) an artifact', { '200': answer('OK', 'Artifact') }, { params: [pathId('id')], body: jsonBody('PatchArtifact', { status: 'locked' }), codes: ['404', '409'] }),
      delete: command('deleteArtifact', 'Delete an artifact; 409 when locked or in use', { '204': { description: 'Deleted' } }, { params: [pathId('id')], codes: ['404', '409'] }),
    },
    '/admin/users': {
      post: command('createUser', 'Create a user (admin); its API token is shown once', {
        '201': { ...answer('Created', 'CreatedUser'), links: { updateUser: { operationId: 'updateUser', parameters: { id: '$response.body#/id' } } } },
      }, { body: jsonBody('CreateUser', { username: 'alice' }), codes: ['403', '404', '409'], extra: { description: '409: the username is taken; 404: an unknown group or organization.' } }),
      get: read('listUsers', 'List users (admin)', listOk('User'), { params: query(PagingQuery), codes: ['403'] }),
    },
    '/admin/users/{id}': {
      patch: command('updateUser', 'Change a user\'s name, organization or groups (admin)', { '200': answer('OK', 'User') }, { params: [pathId('id')], body: jsonBody('UpdateUser', { fullName: 'Alice A.' }), codes: ['403', '404'] }),
    },
    '/admin/groups': {
      post: command('createGroup', 'Create a group (admin)', { '201': answer('Created', 'Principal') }, { body: jsonBody('CreateGroup', { name: 'ml-team' }), codes: ['403', '409'] }),
      get: read('listGroups', 'List groups (admin)', listOk('Principal'), { params: query(PagingQuery), codes: ['403'] }),
    },
    '/admin/orgs': {
      post: command('createOrg', 'Create an organization (admin)', { '201': answer('Created', 'Principal') }, { body: jsonBody('CreateOrg', { name: 'acme' }), codes: ['403', '409'] }),
      get: read('listOrgs', 'List organizations (admin)', listOk('Principal'), { params: query(PagingQuery), codes: ['403'] }),
    },
  };
  const pages = Object.fromEntries(['Workload', 'WorkloadEvent', 'Proton', 'Replacement', 'SharedRole', 'LogEntry', 'Artifact', 'User', 'Principal'].map((item) => [`Page${item}`, page(item)]));
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Workload API',
      version: API_VERSION.versionString,
      description:
        'Create, run, share and observe ML and app workloads. Every route also answers with a trailing slash. A method a path does not serve answers 405 with `Allow`. Unknown query parameters and body fields are 422 (`extra_forbidden`).',
    },
    servers: [{ url: '/api/v2' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token: `BOOTSTRAP_API_TOKEN` for `admin`, or one `POST /admin/users` made.' } },
      schemas: {
        ...RESPONSES,
        ...pages,
        CreateWorkload: createWorkloadSchema(),
        UpdateWorkload: schema(UpdateWorkloadBody),
        InputArtifact: schema(InputArtifact),
        PatchArtifact: schema(PatchArtifactBody),
        UpdateSettings: schema(UpdateSettingsBody),
        StartReplacement: schema(StartReplacementBody),
        CreateUser: schema(CreateUserBody),
        UpdateUser: schema(UpdateUserBody),
        CreateGroup: schema(CreateGroupBody),
        CreateOrg: schema(CreateOrgBody),
        UpdateSharedRoles: schema(UpdateSharedRolesBody),
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
  annotatePolicy(cached as { paths: Record<string, Record<string, Json>> });
  return cached;
}

/** `artifactId` xor `artifact` (the refinement of CreateWorkloadBody). */
function createWorkloadSchema(): Json {
  const json = schema(CreateWorkloadBody);
  json.oneOf = [
    { required: ['artifactId'], not: { required: ['artifact'] } },
    { required: ['artifact'], not: { required: ['artifactId'] } },
  ];
  return json;
}

/** `METHOD /path` in the document's form for a ROUTE_POLICY key (`ANY` is every method of the data plane). */
export function documentedRoute(policyKey: string): { methods: string[]; path: string } {
  const [method, route] = policyKey.split(' ');
  const path = route
    .replace(/^\/api\/v2/, '')
    .replace(/\/\*$/, '/{path}')
    .replace(/:(\w+)/g, '{$1}');
  return { methods: method === 'ANY' ? ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] : [method.toLowerCase()], path };
}

/**
 * Each documented operation says who may call it (`x-required-permission`, and the roles that
 * hold it), from the same ROUTE_POLICY the gateway enforces.
 */
function annotatePolicy(doc: { paths: Record<string, Record<string, Json>> }): void {
  for (const [key, rule] of Object.entries(ROUTE_POLICY)) {
    const { methods, path } = documentedRoute(key);
    for (const method of methods) {
      const operation = doc.paths[path]?.[method];
      if (!operation) continue;
      if (rule.auth === 'workload') {
        operation['x-required-permission'] = rule.permission;
        operation['x-roles'] = Object.entries(ROLE_PERMISSIONS).filter(([, permissions]) => permissions.includes(rule.permission)).map(([role]) => role);
        const responses = operation.responses as Record<string, unknown>;
        responses['403'] ??= E['403'];
        responses['404'] ??= E['404'];
      } else if (rule.auth === 'admin') {
        operation['x-required-permission'] = 'ADMIN';
        (operation.responses as Record<string, unknown>)['403'] ??= E['403'];
      }
    }
  }
}
