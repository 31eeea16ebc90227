#!/usr/bin/env bash
# Stop the broker started by start.sh: TERM, wait, KILL after 30 s (KAFKA_STOP_GRACE). Idempotent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=kafka
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
DATA="$INFRA_DATA_DIR/kafka"
stop_pid "$DATA/kafka.pid" "kafka.Kafka $DATA/server.properties" "kafka" "${KAFKA_STOP_GRACE:-30}"
