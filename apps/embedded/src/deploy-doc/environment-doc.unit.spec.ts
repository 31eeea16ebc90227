import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEGIN, END, renderEnvironmentDoc } from './environment-doc.renderer';

/** The environment reference in docs/deploy.md is generated; this fails when someone forgot to regenerate it. */
describe('docs/deploy.md environment section', () => {
  const doc = readFileSync(join(__dirname, '../../../../docs/deploy.md'), 'utf8');

  it('is what the config schemas render (run `npm run docs:deploy` after changing a config.ts)', () => {
    const section = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
    expect(section).toBe(renderEnvironmentDoc());
  });

  it('documents every variable of every app, with a meaning', () => {
    const rendered = renderEnvironmentDoc();
    for (const name of ['RUNTIME_BIND_HOST', 'RUNTIME_ADVERTISE_HOST', 'BOOTSTRAP_API_TOKEN', 'CLICKHOUSE_URL', 'PUBLIC_BASE_URL']) expect(rendered).toContain(`| \`${name}\` |`);
    expect(rendered).not.toMatch(/\| {2}\|/);
  });
});
