// Adds up the per-workspace Jest counts into the plain closing line CI reads.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const total = { passed: 0, failed: 0, skipped: 0 };
// Only the Jest counts: other steps leave their reports here too (contract-fuzz.out, its system log).
for (const file of fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : []) {
  const counts = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  if (counts.passed + counts.failed + counts.skipped > 0) console.log(`  ${file.replace(/\.json$/, '').padEnd(36)} ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  for (const k of Object.keys(total)) total[k] += counts[k];
}
const fuzz = path.join(dir, 'contract-fuzz.summary');
const fuzzLine = fs.existsSync(fuzz) ? fs.readFileSync(fuzz, 'utf8').split('\n').find((l) => l.startsWith('contract fuzzing:')) : undefined;
if (fuzzLine) console.log(`  ${fuzzLine}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
if (total.passed === 0) process.exitCode = 1;
