#!/usr/bin/env bash
# Stop the broker started by start.sh: TERM, wait, KILL after 30 s (KAFKA_STOP_GRACE). Idempotent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=kafka
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
DATA="$INFRA_DATA_DIR/kafka"
stop_pid "$DATA/kafka.pid" "kafka.Kafka $DATA/server.properties" "kafka" "${KAFKA_STOP_GRACE:-30}"
# publish the AppCDS archive recorded by a first run (see start.sh), only if we just stopped the JVM
# and it exited cleanly (a killed/interrupted JVM may leave a truncated archive, which crashes the JVM)
if [[ -f $DATA/cds.pending ]]; then
  read -r pending final <"$DATA/cds.pending" || true
  if [[ -n ${pending:-} && -s $pending && ${STOP_PID_STOPPED:-0} == 1 && ${STOP_PID_KILLED:-0} == 0 ]]; then
    mv -f "$pending" "$final" && log "AppCDS archive saved: $final"
  else
    rm -f "${pending:-/nonexistent}"
  fi
  rm -f "$DATA/cds.pending"
fi
