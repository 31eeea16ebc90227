#!/usr/bin/env bash
# Stop Kafka and FerretDB (in parallel). Idempotent: stopping what is not running is fine.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=down
# shellcheck source=lib.sh
source "$HERE/lib.sh"
export INFRA_DATA_DIR

"$HERE/kafka/stop.sh" & k=$!
"$HERE/ferretdb/stop.sh" & f=$!
rc=0
wait "$k" || rc=1
wait "$f" || rc=1
exit "$rc"
