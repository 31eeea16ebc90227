import { readdirSync, readFileSync } from 'node:fs';

/** Environment variables of a live process, or null when it is gone (or ended while we looked). */
export function environOf(pid: number): Map<string, string> | null {
  try {
    const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    return new Map(pairs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  } catch {
    return null;
  }
}

/** Pids of the processes whose environment `matches`. */
export function processesWhere(matches: (env: Map<string, string>) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const env = environOf(Number(entry));
    if (env && matches(env)) pids.push(Number(entry));
  }
  return pids;
}

function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z';
  } catch {
    // The process ended while we looked.
    return true;
  }
}

/** Live (non-zombie) processes whose environment carries `WCP_PROTON_ID=<protonId>`: the replicas of a proton. */
export function replicaProcesses(protonId: string): number[] {
  return processesWhere((env) => env.get('WCP_PROTON_ID') === protonId).filter((pid) => !isZombie(pid));
}

/** The pid of one replica, by its name (REPLICA_NAME in its environment). */
export function replicaPid(replicaName: string): number | null {
  return processesWhere((env) => env.get('REPLICA_NAME') === replicaName)[0] ?? null;
}
