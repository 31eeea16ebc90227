import { DEFAULT_RESOURCE_BUNDLES, Memory } from '@wcp/contracts';
import { LoggingEnvironment } from '@wcp/logging';
import { BoolFlag, CommaList, parseConfig, Port } from '@wcp/nest-common';
import { TracingEnvironment } from '@wcp/tracing';
import { z } from 'zod';
import { isWildcard } from './runtime/replica-address';

/** `RESOURCE_BUNDLES`: JSON object of bundle id → {cpu, memory (bytes or "1Gi"), gpu?}; replaces the built-in catalog. */
const ResourceBundles = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'RESOURCE_BUNDLES must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      z.strictObject({ cpu: z.number().positive().max(256), memory: Memory, gpu: z.int().min(0).max(16).nullish() }).transform((b) => ({ ...b, gpu: b.gpu ?? null })),
    ),
  );

/**
 * The workload service's environment. Every variable carries its description: docs/deploy.md
 * is generated from this schema (`npm run docs:deploy`), and a unit test fails when it drifts.
 */
export const WorkloadServiceEnvironment = z.object({
  HOST: z.string().default('127.0.0.1').describe('Address the internal API listens on; `0.0.0.0` in a container, so the gateway can reach it.'),
  INTERNAL_PORT: Port.default(8081).describe('Port of the internal API (the gateway\'s queries, health); `0` = ephemeral.'),
  DATA_DIR: z.string().default('./.data').describe('Embedded event store and read models (SQLite, when MONGODB_URI is unset), replica state and logs. Must be writable.'),
  MONGODB_URI: z.string().optional().describe('MongoDB (or FerretDB) that holds the event store and read models. Unset: embedded SQLite under DATA_DIR.'),
  MONGODB_DB: z.string().default('workloads').describe('Database name in MONGODB_URI\'s server (wins over a database in the URI).'),
  KAFKA_BROKERS: CommaList.describe('Comma-separated Kafka bootstrap brokers. Unset: an in-process bus (embedded mode only).'),
  KAFKA_NAMESPACE: z.string().regex(/^[A-Za-z0-9._-]+$/).optional().describe('Prefix of every Kafka topic and consumer group, so several systems can share one cluster.'),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000).describe('Kafka consumer session timeout (ms): how long the group waits for a silent instance before its partitions (and, for the workload service, its workloads) move to another. Within the brokers\' group.min/max.session.timeout.ms.'),
  BOOTSTRAP_API_TOKEN: z.string().min(16, 'BOOTSTRAP_API_TOKEN must be at least 16 characters').optional().describe('When set, user `admin` holds this API token (16+ characters); stored hashed. Without it nobody can call the API on a fresh store.'),
  MAX_ACTIVE_WORKLOADS_PER_OWNER: z.coerce.number().int().min(1).default(20).describe('Creating or starting a workload beyond this many active ones of one owner answers 403.'),
  RUNTIME_MAX_CPU: z.coerce.number().positive().optional().describe('Admission: CPUs (fractional) all running workloads may hold together (replicas × allocation; an autoscaled group counts minReplicaCount, at least 1); a start or create beyond it answers 403. Unset: unlimited.'),
  RUNTIME_MAX_MEMORY: Memory.optional().describe('Admission: memory all running workloads may hold together, bytes or with a unit like the API\'s (`8Gi`, `500MB`); beyond it a start answers 403. Unset: unlimited.'),
  RUNTIME_MAX_REPLICAS: z.coerce.number().int().min(1).optional().describe('Admission: replicas all running workloads may hold together; beyond it a start answers 403. Unset: unlimited.'),
  RESOURCE_BUNDLES: ResourceBundles.default(DEFAULT_RESOURCE_BUNDLES).describe('JSON object `{"<id>": {"cpu": 1, "memory": "1Gi", "gpu": null}}`: the operator\'s catalog behind `resourceBundles`; replaces the built-in cpu.nano … cpu.xlarge.'),
  OUTBOX_RELAY_ENABLED: BoolFlag.default(true).describe('Publish stored events to Kafka. Off only in tests that prove the outbox survives a crash between append and publish.'),
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).default(500).describe('How often the outbox relay sweeps for commits nobody published (ms).'),
  OUTBOX_SWEEP_AFTER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(2000)
    .describe('Each instance publishes its own commits from memory at once; the lease holder sweeps those still unpublished after this long (their instance died, or the broker was down) (ms).'),
  OUTBOX_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(5000).describe('With several instances on one MongoDB, one holds the outbox lease; another takes over within this after it dies (ms).'),
  COMMAND_PARTITIONS: z.coerce.number().int().min(1).default(6).describe('Partitions of the command topic when this service creates it (the unit of parallelism across instances).'),
  COMMAND_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4).describe('Command partitions handled at once by this instance (order holds per workload).'),
  COMMAND_BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64).describe('Within one partition\'s batch, commands of this many workloads run at once (each workload\'s in order).'),
  COMMAND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5).describe('Attempts of a command whose handler throws while the stores are healthy, before it is dead-lettered and answered 500.'),
  RUNTIME_RESYNC_MS: z.coerce.number().int().min(1000).max(3_600_000).default(15_000).describe('How often each instance re-checks that it runs exactly the workloads whose command partitions it owns (ms); a change of partitions is acted on at once.'),
  INTERNAL_ADVERTISE_URL: z.string().url().optional().describe('URL other instances reach this one\'s internal API at (they forward runtime queries of the workloads it runs). Default: `http://<HOST or the host name when HOST is a wildcard>:<port>`.'),
  RUNTIME_STATE_DIR: z.string().optional().describe('Replica state (replicas.json) and logs of the local runtime; default `<DATA_DIR>/workload-service/runtime`.'),
  RUNTIME_CGROUPS: z.enum(['auto', 'off']).default('auto').describe('`auto`: limit each replica\'s memory and CPU with cgroups (v2 where the memory controller is delegated to the service, else a writable v1 hierarchy), falling back to an RSS watchdog over /proc; `off`: the watchdog only. `/health` says which is in use.'),
  RUNTIME_BIND_HOST: z.string().min(1).default('127.0.0.1').describe('Address replicas listen on (passed to them as HOST). Loopback keeps them private to this host; `0.0.0.0` when the gateway runs elsewhere (another container).'),
  RUNTIME_ADVERTISE_HOST: z.string().min(1).optional().describe('Host name or address in the replica URLs the gateway forwards to (e.g. the compose service name). Default: RUNTIME_BIND_HOST; required when that is a wildcard.'),
  IMAGE_CATALOG_DIRS: CommaList.describe('Extra operator image catalogs (comma-separated directories), searched before the built-in one.'),
  STOP_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000).describe('SIGTERM → SIGKILL grace when a proton stops (ms). The container\'s stop timeout must be longer.'),
  REPLICA_READY_TIMEOUT_MS: z.coerce.number().int().min(500).default(120_000).describe('A replica not ready within this errors its proton (ms).'),
  REPLICA_MAX_RESTARTS: z.coerce.number().int().min(0).default(5).describe('Consecutive crashes tolerated before a proton is errored.'),
  STOP_REPLICAS_ON_SHUTDOWN: BoolFlag.default(true).describe('What a graceful shutdown does with running replicas: stop them, or leave them to be adopted at the next start.'),
  TELEMETRY_SERVICE_URL: z.string().url().default('http://127.0.0.1:8082').describe('The telemetry service\'s internal API: replacements judge their candidate by its request statistics.'),
  REPLACEMENT_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(2500).describe('A replica retired by a rollout or an autoscaler scale-down leaves the route table this long before it is stopped (ms; > the gateway\'s route cache).'),
  REPLACEMENT_READY_TIMEOUT_MS: z.coerce.number().int().min(500).default(120_000).describe('Candidate replicas of a replacement must be ready within this, per batch; else the replacement errors (ms).'),
  REPLICA_LOG_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250).describe('How often the local runtime looks for new lines in replica log files (ms).'),
  REPLICA_LOG_MAX_BYTES: z.coerce.number().int().min(64 * 1024).default(10 * 1024 * 1024).describe('A replica log file (per stream) above this is rotated (copied to `.1`, truncated); 4× this unshipped is dropped rather than kept (bytes).'),
  REPLICA_LOG_FILES: z.coerce.number().int().min(2).max(10).default(2).describe('Log files kept per replica stream, the live one included (2: `<file>` and `<file>.1`, which rotation needs).'),
  ...LoggingEnvironment.shape,
  ...TracingEnvironment.shape,
  AUTOSCALER_TICK_MS: z.coerce.number().int().min(50).max(60_000).default(2000).describe('Autoscaler: how often each autoscaled proton is evaluated and its replicas\' CPU read from /proc (ms; Knative\'s tick is 2 s).'),
  AUTOSCALER_STABLE_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000).describe('Autoscaler: the stable window the desired replica count is averaged over; also how long panic lasts after its condition, and the idle time before scale to zero (ms).'),
  AUTOSCALER_PANIC_WINDOW_MS: z.coerce.number().int().min(100).max(600_000).default(6000).describe('Autoscaler: the short window that detects bursts (ms; Knative: 10 % of the stable window).'),
  AUTOSCALER_PANIC_THRESHOLD: z.coerce.number().min(1).max(100).default(2).describe('Autoscaler: panic (scale up at once, never down) when the panic-window desired count is at least this × the ready replicas (2 = Knative\'s 200 %).'),
  AUTOSCALER_DEFAULT_COOLDOWN_MINUTES: z.coerce.number().min(0).max(1440).default(5).describe('Autoscaler: time between two scale-downs when a workload\'s `cooldownPeriodMinutes` is null (minutes, fractional allowed).'),
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin').describe('PATH handed to replica processes (they never inherit the service\'s environment).'),
});

const Schema = WorkloadServiceEnvironment.superRefine((env, ctx) => {
  if (env.AUTOSCALER_PANIC_WINDOW_MS > env.AUTOSCALER_STABLE_WINDOW_MS) {
    ctx.addIssue({ code: 'custom', path: ['AUTOSCALER_PANIC_WINDOW_MS'], message: 'must not be longer than AUTOSCALER_STABLE_WINDOW_MS' });
  }
  // Nobody can connect to 0.0.0.0: a wildcard bind without an advertised name gives the gateway unusable URLs.
  if (isWildcard(env.RUNTIME_BIND_HOST) && !env.RUNTIME_ADVERTISE_HOST) {
    ctx.addIssue({ code: 'custom', path: ['RUNTIME_ADVERTISE_HOST'], message: `required when RUNTIME_BIND_HOST is ${env.RUNTIME_BIND_HOST}: the host name the gateway reaches replicas at` });
  }
});

export type WorkloadServiceConfig = z.output<typeof Schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): WorkloadServiceConfig {
  return parseConfig(Schema, env);
}

export const CONFIG = Symbol('WORKLOAD_SERVICE_CONFIG');

/** The admission limits of runtime-capacity.ts, from the configuration (null: unlimited). */
export function capacityLimits(config: Pick<WorkloadServiceConfig, 'RUNTIME_MAX_CPU' | 'RUNTIME_MAX_MEMORY' | 'RUNTIME_MAX_REPLICAS'>) {
  return { maxCpu: config.RUNTIME_MAX_CPU ?? null, maxMemory: config.RUNTIME_MAX_MEMORY ?? null, maxReplicas: config.RUNTIME_MAX_REPLICAS ?? null };
}
