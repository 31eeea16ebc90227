// Dependency rules: packages never import apps; apps never import other apps, except the
// embedded launcher, which is the one composition root of all three.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const apps = fs.readdirSync(path.join(root, 'apps'));
const violations = [];

function walk(dir, visit) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, visit);
    else if (/\.ts$/.test(entry.name)) visit(full);
  }
}

for (const [kind, names] of [['packages', fs.readdirSync(path.join(root, 'packages'))], ['apps', apps]]) {
  for (const name of names) {
    const src = path.join(root, kind, name, 'src');
    if (!fs.existsSync(src)) continue;
    walk(src, (file) => {
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/from '(@wcp\/[a-z-]+)|require\('(@wcp\/[a-z-]+)/g)) {
        const target = (match[1] ?? match[2]).slice('@wcp/'.length);
        if (!apps.includes(target) || target === name) continue;
        if (kind === 'packages' || name !== 'embedded') violations.push(`${path.relative(root, file)} imports app @wcp/${target}`);
      }
      if (/from '\.\.\/\.\.\/\.\.\/(apps|packages)\//.test(text)) violations.push(`${path.relative(root, file)} reaches into another workspace by relative path`);
    });
  }
}
if (violations.length > 0) {
  console.error(`boundary violations:\n  ${violations.join('\n  ')}`);
  process.exit(1);
}
console.log('boundaries ok');
