import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm ci` installs only what package-lock.json lists. A lockfile written on one platform (or
 * against a registry that lacks the other platforms' packages) lists only that platform's chDB
 * engine, and embedded mode cannot start anywhere else. Refresh with
 * `node scripts/lock-chdb-platforms.mjs`.
 */
interface LockEntry {
  version: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(join(__dirname, '../../../../package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** Where `npm install && npm start` must work (README): Linux glibc and macOS, x64 and arm64. */
const PLATFORMS = [
  { os: 'linux', cpu: 'x64' },
  { os: 'linux', cpu: 'arm64' },
  { os: 'darwin', cpu: 'x64' },
  { os: 'darwin', cpu: 'arm64' },
];

describe('package-lock.json and the chDB engine', () => {
  const chdb = lock.packages['node_modules/chdb'];
  const declared = Object.entries(chdb?.optionalDependencies ?? {}).filter(([name]) => name.startsWith('@chdb/lib-'));

  it('locks chdb, as an optional dependency (the service image omits it)', () => {
    expect(chdb).toEqual(expect.objectContaining({ version: expect.any(String), optional: true }));
    expect(declared.length).toBeGreaterThan(0);
  });

  it('locks every platform package chdb declares, at the version it declares', () => {
    const locked = declared.map(([name]) => [name, lock.packages[`node_modules/${name}`]?.version ?? 'missing']);
    expect(locked).toEqual(declared);
  });

  it.each(PLATFORMS)('has an engine for $os-$cpu that npm installs only there', ({ os, cpu }) => {
    const engines = declared.map(([name]) => lock.packages[`node_modules/${name}`]).filter((e) => e?.os?.includes(os) && e.cpu?.includes(cpu));
    expect(engines).toHaveLength(1);
    expect(engines[0]).toEqual(expect.objectContaining({ optional: true, os: [os], cpu: [cpu] }));
  });
});
