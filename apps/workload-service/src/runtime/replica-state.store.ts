import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What survives a SIGKILL of the service: one record per live replica process. */
export interface ReplicaRecord {
  /** Marker in the process environment (WCP_REPLICA_ID); unique per process launch. */
  instanceId: string;
  protonId: string;
  workloadId: string;
  replica: string;
  index: number;
  pid: number;
  port: number;
  image: string;
  /** When the replica (pod) first started; survives container restarts. */
  podStartedAt: string;
  /** When the current process started. */
  startedAt: string;
  restartCount: number;
}

interface StateFile {
  version: 1;
  replicas: ReplicaRecord[];
}

/**
 * `<stateDir>/replicas.json`, rewritten whole on every change: write a temp file, fsync,
 * rename over the old one, so a crash leaves either the old or the new file, never half.
 */
export class ReplicaStateStore {
  readonly file: string;

  constructor(private readonly stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.file = join(stateDir, 'replicas.json');
  }

  load(): ReplicaRecord[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<StateFile>;
      return Array.isArray(parsed.replicas) ? parsed.replicas.filter((r) => Number.isInteger(r?.pid) && typeof r.instanceId === 'string') : [];
    } catch {
      return [];
    }
  }

  save(replicas: ReplicaRecord[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    const body: StateFile = { version: 1, replicas };
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(body, null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
