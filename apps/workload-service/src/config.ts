import { DEFAULT_RESOURCE_BUNDLES, Memory } from '@wcp/contracts';
import { BoolFlag, CommaList, parseConfig, Port } from '@wcp/nest-common';
import { z } from 'zod';

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

const Schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  INTERNAL_PORT: Port.default(8081),
  DATA_DIR: z.string().default('./.data'),
  /** Set: MongoDB (or FerretDB) holds events and read models. Unset: embedded SQLite under DATA_DIR. */
  MONGODB_URI: z.string().optional(),
  MONGODB_DB: z.string().default('workloads'),
  KAFKA_BROKERS: CommaList,
  /** Prefix of every Kafka topic and group, so systems can share a cluster. */
  KAFKA_NAMESPACE: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
  BOOTSTRAP_API_TOKEN: z.string().min(16, 'BOOTSTRAP_API_TOKEN must be at least 16 characters').optional(),
  MAX_ACTIVE_WORKLOADS_PER_OWNER: z.coerce.number().int().min(1).default(20),
  /** The operator's resource bundle catalog (`resourceBundles` in a runtime); default: cpu.nano … cpu.xlarge. */
  RESOURCE_BUNDLES: ResourceBundles.default(DEFAULT_RESOURCE_BUNDLES),
  /** Off only in tests that prove the outbox survives a crash between append and publish. */
  OUTBOX_RELAY_ENABLED: BoolFlag.default(true),
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).default(500),
  /**
   * Each instance publishes its own commits from memory at once; the lease holder's sweep (every
   * OUTBOX_POLL_MS) publishes those still unpublished after this long (their instance died, or the
   * broker was down). Shorter: faster repair, more duplicates around a slow broker.
   */
  OUTBOX_SWEEP_AFTER_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  /** With several instances on one MongoDB, one holds the outbox lease; another takes over within this after it dies. */
  OUTBOX_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(5000),
  COMMAND_PARTITIONS: z.coerce.number().int().min(1).default(6),
  /** Command partitions handled at once by this instance (order holds per workload). */
  COMMAND_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Within one partition's batch, commands of this many workloads run at once (each workload's in order). */
  COMMAND_BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  /** Attempts of a command whose handler throws while the stores are healthy, before it is dead-lettered and answered 500. */
  COMMAND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** Replica state and logs of the local runtime; default <DATA_DIR>/workload-service/runtime. */
  RUNTIME_STATE_DIR: z.string().optional(),
  /** Extra operator image catalogs (comma-separated directories), searched before the built-in one. */
  IMAGE_CATALOG_DIRS: CommaList,
  /** SIGTERM → SIGKILL grace when a proton stops. */
  STOP_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** A replica not ready within this errors its proton. */
  REPLICA_READY_TIMEOUT_MS: z.coerce.number().int().min(500).default(120_000),
  /** Consecutive crashes tolerated before a proton is errored. */
  REPLICA_MAX_RESTARTS: z.coerce.number().int().min(0).default(5),
  /** What a graceful shutdown does with running replicas: stop them, or leave them to be adopted at the next start. */
  STOP_REPLICAS_ON_SHUTDOWN: BoolFlag.default(true),
  /** The telemetry service's internal API: replacements judge their candidate by its request statistics. */
  TELEMETRY_SERVICE_URL: z.string().url().default('http://127.0.0.1:8082'),
  /** A replica retired by a rollout leaves the route table this long before it is stopped (> the gateway's route cache). */
  REPLACEMENT_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(2500),
  /** Candidate replicas of a replacement must be ready within this, per batch; else the replacement errors. */
  REPLACEMENT_READY_TIMEOUT_MS: z.coerce.number().int().min(500).default(120_000),
  /** How often the local runtime looks for new lines in replica log files (ms). */
  REPLICA_LOG_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** A replica log file (per stream) above this is rotated (copied to `.1`, truncated); 4× this unshipped is dropped rather than kept (bytes). */
  REPLICA_LOG_MAX_BYTES: z.coerce.number().int().min(64 * 1024).default(10 * 1024 * 1024),
  /** Log files kept per replica stream, the live one included (2: `<file>` and `<file>.1`, which rotation needs). */
  REPLICA_LOG_FILES: z.coerce.number().int().min(2).max(10).default(2),
  /** PATH handed to replica processes (they never inherit the service's environment). */
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
});

export type WorkloadServiceConfig = z.output<typeof Schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): WorkloadServiceConfig {
  return parseConfig(Schema, env);
}

export const CONFIG = Symbol('WORKLOAD_SERVICE_CONFIG');
