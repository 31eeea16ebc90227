import { readdirSync, readFileSync } from 'node:fs';

/** Live (non-zombie) processes whose environment carries `WCP_PROTON_ID=<protonId>`: the replicas of a proton. */
export function replicaProcesses(protonId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (!environ.split('\0').includes(`WCP_PROTON_ID=${protonId}`)) continue;
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** The pid of one replica, by its name (REPLICA_NAME in its environment). */
export function replicaPid(replicaName: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`REPLICA_NAME=${replicaName}`)) return Number(entry);
    } catch {
      // Gone already.
    }
  }
  return null;
}
