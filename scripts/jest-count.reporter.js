// Writes this Jest run's counts where scripts/test-summary.mjs adds them up into one closing line.
const fs = require('node:fs');
const path = require('node:path');

class CountReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const dir = process.env.JEST_COUNT_DIR;
    if (!dir) return;
    const name = `${path.basename(this.globalConfig.rootDir)}-${process.env.TEST_TIER || 'unit'}.json`;
    fs.writeFileSync(
      path.join(dir, name),
      JSON.stringify({ passed: results.numPassedTests, failed: results.numFailedTests + results.numRuntimeErrorTestSuites, skipped: results.numPendingTests + results.numTodoTests }),
    );
  }
}

module.exports = CountReporter;
