// One Jest setup for every workspace. The tier comes from TEST_TIER (unit | int | e2e) and
// selects files by their suffix, so a file's name says which servers it needs.
const path = require('node:path');

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = function jestConfig(dir) {
  const tier = process.env.TEST_TIER || 'unit';
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testRegex: `.*\\.${tier}\\.spec\\.ts$`,
    transform: { '^.+\\.ts$': swc },
    moduleNameMapper: {
      '^@wcp/(gateway|workload-service|telemetry-service)$': path.join(__dirname, 'apps/$1/src/index.ts'),
      '^@wcp/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    },
    testTimeout: tier === 'unit' ? 5000 : 120000,
    passWithNoTests: true,
    reporters: ['default', path.join(__dirname, 'scripts/jest-count.reporter.js')],
    maxWorkers: tier === 'unit' ? '50%' : 1,
  };
};
