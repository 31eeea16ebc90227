#!/usr/bin/env bash
# `npm test`: every tier, against real servers. Starts Kafka and FerretDB through infra/ (unless
# KAFKA_BROKERS / MONGODB_URI already point somewhere), runs lint, typecheck, unit, integration
# and e2e tests, stops what it started, and prints one closing line with the counts.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export TZ=UTC
export JEST_COUNT_DIR="$ROOT/.test-results"
rm -rf "$JEST_COUNT_DIR" && mkdir -p "$JEST_COUNT_DIR"
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

step "build"
npx turbo run build --output-logs=errors-only
step "boundaries"
node scripts/check-boundaries.mjs
step "lint + typecheck"
npx turbo run lint typecheck --output-logs=errors-only
step "unit tests"
npx turbo run test --output-logs=new-only --concurrency=2

step "contract fuzzing (schemathesis against the embedded system)"
fuzz_status=0
bash scripts/contract-fuzz.sh || fuzz_status=$?

step "start real servers (infra/up.sh)"
started_infra=0
if [[ -z ${KAFKA_BROKERS:-} || -z ${MONGODB_URI:-} ]]; then started_infra=1; fi
cleanup() { if ((started_infra)) && [[ -z ${INFRA_KEEP:-} ]]; then bash infra/down.sh >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
bash infra/up.sh >/dev/null
# shellcheck source=../infra/env.sh
source infra/env.sh

step "integration tests (real Kafka, FerretDB, chDB)"
status=0
npx turbo run test:int --output-logs=new-only --concurrency=1 || status=$?
step "e2e tests (HTTP through the gateway)"
npx turbo run test:e2e --output-logs=new-only --concurrency=1 || status=$?

step "done"
node scripts/test-summary.mjs "$JEST_COUNT_DIR"
((fuzz_status == 0)) || { echo "contract fuzzing failed (see above)"; status=1; }
exit $status
