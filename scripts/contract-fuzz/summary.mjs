// Reads schemathesis' JSON run report and the CLI output: prints the counts, exits 1 unless
// there were enough requests, no server error and no failure. Usage: summary.mjs OUT REPORT_DIR MIN
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, dir, min] = process.argv.slice(2);
const text = readFileSync(out, 'utf8');
const junit = readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
const number = (re) => Number(re.exec(text)?.[1] ?? 0);
const generated = number(/(\d+) generated/);
const failures = (junit.match(/<failure/g) ?? []).length;
const errors = (junit.match(/<error/g) ?? []).length;
const serverErrors = (text.match(/Server error/g) ?? []).length;
console.log(`contract fuzzing: ${generated} generated requests, ${failures} failures, ${errors} errors, ${serverErrors} server errors (minimum ${min} requests)`);
process.exit(generated >= Number(min) && failures === 0 && errors === 0 && serverErrors === 0 ? 0 : 1);
