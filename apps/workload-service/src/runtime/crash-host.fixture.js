'use strict';
// Test fixture: runs a LocalProcessDriver in its own Node process so a test can SIGKILL it,
// which is the crash that recover() exists for. Loads the TypeScript sources through swc.
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

const { LocalProcessDriver } = require('./local-process.driver.ts');

const { options, spec } = JSON.parse(process.argv[2]);
const driver = new LocalProcessDriver(options);
driver.onEvent((e) => {
  if (e.type === 'ProtonRunning' || e.type === 'ProtonErrored') process.stdout.write(`${JSON.stringify(e)}\n`);
});
driver.ensureRunning(spec).catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
setInterval(() => {}, 1 << 30);
