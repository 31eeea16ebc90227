// `npm run bench`: every bench in bench/ in sequence, each in its own process; collects the JSON
// line each ends with, prints a summary table and one JSON line with all of them. A failing
// bench fails the run (exit 1), after the others have run.
//
//   npx turbo run build && bash infra/up.sh && source infra/env.sh && npm run bench
//   BENCH_QUICK=1    smaller sizes everywhere (a smoke run of a few minutes, not figures to quote)
//   BENCH_ONLY=data-plane,telemetry   run only these
//
// Without KAFKA_BROKERS and MONGODB_URI in the environment the commands bench runs embedded
// (MODE=embedded: in-process bus + SQLite), and says so in its result.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(new URL('.', import.meta.url).pathname, '..');
const QUICK = process.env.BENCH_QUICK === '1';
const infra = Boolean(process.env.KAFKA_BROKERS && process.env.MONGODB_URI);

/** Each bench: how it is started (see its README) and its quick sizes; an explicit variable wins. */
const BENCHES = [
  {
    name: 'data-plane',
    script: 'bench/data-plane/run.mjs',
    quick: { BENCH_REQUESTS: '3000', BENCH_ROUNDS: '1', BENCH_LATENCY_REQUESTS: '500', BENCH_SOAK_SECONDS: '0' },
    figures: ['perSec', 'ratioToBareProxy', 'addedP99Ms'],
  },
  {
    name: 'commands',
    script: 'bench/commands/run.mjs',
    env: infra ? {} : { MODE: 'embedded' },
    quick: { WORKLOADS: '100', COMMANDS: '2000', HOT_COMMANDS: '500', REBUILD_EVENTS: '10000' },
    figures: ['mode', 'commandsPerSec', 'p99Ms', 'hotPerSec', 'rebuildEventsPerSec'],
  },
  {
    name: 'telemetry',
    script: 'bench/telemetry/bench.js',
    env: { TZ: 'UTC' },
    quick: { BENCH_RECORDS: '100000', BENCH_RUNS: '3' },
    figures: ['records', 'ingestPerSec', 'ingestRatio', 'statsRatio', 'seriesWorstRatio'],
  },
];

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(`BENCH_ONLY: unknown bench ${unknown.join(', ')}; the benches are ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}

/** The last stdout line that parses as a JSON object with a `bench` field. */
function finalJson(stdout) {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const value = JSON.parse(line);
      if (value && typeof value === 'object' && 'bench' in value) return value;
    } catch {
      // A figure line that merely starts with a brace.
    }
  }
  return null;
}

function run(bench) {
  const env = { ...process.env, ...(bench.env ?? {}) };
  if (QUICK) for (const [k, v] of Object.entries(bench.quick)) env[k] ??= v;
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve(root, bench.script)], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code, signal) => {
      const result = finalJson(stdout);
      const seconds = Math.round((Date.now() - started) / 1000);
      const failure = code !== 0 ? `exit ${code ?? signal}` : result === null ? 'no final JSON line' : null;
      done({ name: bench.name, ok: failure === null, failure, seconds, result, figures: bench.figures });
    });
  });
}

const outcomes = [];
for (const bench of BENCHES.filter((b) => !only || only.includes(b.name))) {
  console.log(`\n=== bench ${bench.name}${QUICK ? ' (quick)' : ''}: node ${bench.script} ===`);
  outcomes.push(await run(bench));
}

const rows = outcomes.map((o) => [o.name, o.ok ? 'ok' : `FAILED (${o.failure})`, `${o.seconds} s`, o.figures.filter((f) => o.result?.[f] !== undefined).map((f) => `${f}=${o.result[f]}`).join(' ')]);
const header = ['bench', 'status', 'time', 'figures'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}`);
const failed = outcomes.filter((o) => !o.ok).map((o) => o.name);
console.log(JSON.stringify({ bench: 'all', quick: QUICK, failed, results: Object.fromEntries(outcomes.map((o) => [o.name, o.result])) }));
process.exit(failed.length > 0 ? 1 : 0);
