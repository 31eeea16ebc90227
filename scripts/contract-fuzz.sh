#!/usr/bin/env bash
# Contract fuzzing: schemathesis (pinned, in a cached venv: infra/schemathesis/ensure.sh) against
# the embedded system (`node apps/embedded/dist/main.js`, built), with the bootstrap admin token,
# every check, the stateful phase on. Fails unless it sent at least CONTRACT_FUZZ_MIN_REQUESTS
# requests with 0 server errors and 0 failures; prints the counts.
#   CONTRACT_FUZZ_MAX_EXAMPLES (60)  CONTRACT_FUZZ_MIN_REQUESTS (5000)  CONTRACT_FUZZ_WORKERS (2)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=$(bash infra/schemathesis/ensure.sh)
TOKEN=contract-fuzz-token-0123456789abcdef
DATA_DIR=$(mktemp -d /tmp/wcp-contract-fuzz-XXXXXX)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BASE="http://127.0.0.1:$PORT"
REPORT="$DATA_DIR/report"
LOG="$DATA_DIR/system.log"
# The whole schemathesis output and the system's log are kept (git-ignored) for reading the failures.
mkdir -p "$ROOT/.test-results"
OUT="$ROOT/.test-results/contract-fuzz.out"

# Few active workloads per owner: every generated create deploys, and replicas are processes.
PORT=$PORT DATA_DIR=$DATA_DIR BOOTSTRAP_API_TOKEN=$TOKEN TZ=UTC RATE_LIMIT_PER_MINUTE=0 MAX_ACTIVE_WORKLOADS_PER_OWNER=3 \
  COMMAND_TIMEOUT_MS=15000 node apps/embedded/dist/main.js >"$LOG" 2>&1 &
SYSTEM=$!
stop() { kill -TERM "$SYSTEM" 2>/dev/null && wait "$SYSTEM" 2>/dev/null; cp "$LOG" "$ROOT/.test-results/contract-fuzz.system.log" 2>/dev/null; rm -rf "$DATA_DIR"; }
trap stop EXIT
for _ in $(seq 1 120); do
  curl -fs "$BASE/api/v2/health" >/dev/null 2>&1 && break
  kill -0 "$SYSTEM" 2>/dev/null || { cat "$LOG"; echo "the embedded system exited" >&2; exit 1; }
  sleep 0.5
done
curl -fs -H "authorization: Bearer $TOKEN" "$BASE/api/v2/openapi.json" >"$DATA_DIR/openapi.json"

status=0
"$BIN/st" --config-file scripts/contract-fuzz/schemathesis.toml run "$DATA_DIR/openapi.json" \
  --url "$BASE/api/v2" -H "Authorization: Bearer $TOKEN" \
  --checks all --max-examples "${CONTRACT_FUZZ_MAX_EXAMPLES:-60}" --workers "${CONTRACT_FUZZ_WORKERS:-2}" \
  --seed "${CONTRACT_FUZZ_SEED:-13}" --request-timeout 20 \
  --report junit --report-dir "$REPORT" --no-color >"$OUT" 2>&1 || status=$?
tail -n 40 "$OUT"
# The counts line also goes into the report directory, for npm test's closing summary.
node scripts/contract-fuzz/summary.mjs "$OUT" "$REPORT" "${CONTRACT_FUZZ_MIN_REQUESTS:-5000}" >"$ROOT/.test-results/contract-fuzz.summary" || status=1
cat "$ROOT/.test-results/contract-fuzz.summary"
grep -q "ERROR\|Error" "$LOG" && { echo "--- system log errors"; grep -n "ERROR" "$LOG" | head -20; } || true
exit $status
