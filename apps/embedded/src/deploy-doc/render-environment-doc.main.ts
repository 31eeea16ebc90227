import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEnvironmentDoc, replaceSection } from './environment-doc.renderer';

/** `npm run docs:deploy`: rewrites the generated environment section of docs/deploy.md. */
const file = join(__dirname, '../../../../docs/deploy.md');
const before = readFileSync(file, 'utf8');
const after = replaceSection(before, renderEnvironmentDoc());
writeFileSync(file, after);
console.log(before === after ? 'docs/deploy.md is up to date' : 'docs/deploy.md: environment section rewritten');
