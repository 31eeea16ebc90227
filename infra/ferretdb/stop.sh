#!/usr/bin/env bash
# Stop FerretDB started by start.sh: TERM, wait, KILL after 30 s (FERRETDB_STOP_GRACE). Idempotent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=ferretdb
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
DATA="$INFRA_DATA_DIR/ferretdb"
stop_pid "$DATA/ferretdb.pid" "--sqlite-url=file:$DATA/sqlite/" "ferretdb" "${FERRETDB_STOP_GRACE:-30}"
