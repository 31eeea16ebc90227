#!/usr/bin/env node
// Adds a package-lock.json entry for every @chdb/lib-* platform package that chdb declares,
// so `npm ci` on macOS (arm64, x64) and Linux arm64 installs the engine, not only on the
// machine that wrote the lockfile.
//
// Why a script and not `npm install --os/--cpu`: the registry our machines reach answers 404
// for every platform package but linux-x64, and npm then records the dependency as
// `npm:null@*` (tried with npm 11.19: `npm install --package-lock-only --force --os=darwin
// --cpu=arm64 @chdb/lib-darwin-arm64@<v>`). An entry without `resolved`/`integrity` is what npm
// itself writes for a package it has not fetched: `npm ci` on a matching platform fetches
// `<name>@<version>` from the registry, every other platform skips it by `os`/`cpu`/`libc`.
// Run it after changing the chdb version; apps/telemetry-service/src/clickhouse/
// chdb-lockfile.unit.spec.ts fails while an entry is missing or stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lockPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));

/** The entry npm would write for `@chdb/lib-<os>-<cpu>[-gnu]`, its fields in npm's order. */
function entryOf(name, version) {
  const m = /^@chdb\/lib-(darwin|linux)-(x64|arm64)(-gnu)?$/.exec(name);
  if (!m) throw new Error(`unknown chdb platform package ${name}: extend entryOf()`);
  return { version, cpu: [m[2]], ...(m[3] ? { libc: ['glibc'] } : {}), license: 'Apache-2.0', optional: true, os: [m[1]] };
}

let changed = 0;
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    if (!name.startsWith('@chdb/lib-')) continue;
    // Hoisted beside chdb, where npm puts them when nothing else pins another version.
    const target = `node_modules/${name}`;
    if (lock.packages[target]?.version === version) continue;
    lock.packages[target] = entryOf(name, version);
    changed += 1;
  }
}

// npm keeps `packages` sorted by path, the root ("") first.
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(changed ? `added or updated ${changed} @chdb/lib-* entries` : 'every @chdb/lib-* platform package is locked');
